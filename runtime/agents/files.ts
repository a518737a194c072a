/**
 * Finding agent files: a file argument is itself; a directory contributes every `*.agent.yaml`, `*.agent.yml` and
 * `agent.yaml` in it and in its immediate subdirectories, except NOMOS test specs (`tests.agent.yaml`,
 * `*.tests.agent.yaml`).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, normalize, resolve } from 'node:path';
import type { ConfigIssue } from '../../src/errors.js';

/**
 * Expands files and directories into agent files (see {@link loadAgents}), sorted per directory, without repeats.
 * A missing path or a directory without agent files is an error issue.
 */
export async function findAgentFiles(pathsOrDirs: string[]): Promise<{ files: string[]; issues: ConfigIssue[] }> {
  const files: string[] = [];
  const issues: ConfigIssue[] = [];
  const add = (file: string) => {
    if (!files.some((f) => resolve(f) === resolve(file))) files.push(normalize(file));
  };
  for (const path of pathsOrDirs) {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      issues.push({ file: path, path: '', message: 'no such file or directory', severity: 'error' });
    } else if (info.isFile()) {
      add(path);
    } else {
      const before = files.length;
      for (const file of await agentFilesIn(path)) add(file);
      if (files.length === before) {
        issues.push({ file: path, path: '', message: 'no *.agent.yaml, *.agent.yml or agent.yaml files found', severity: 'error' });
      }
    }
  }
  return { files, issues };
}

function isAgentFileName(name: string): boolean {
  if (/^(.*\.)?tests?\.agent\.ya?ml$/.test(name)) return false;
  return /\.agent\.ya?ml$/.test(name) || name === 'agent.yaml' || name === 'agent.yml';
}

async function agentFilesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) if (entry.isFile() && isAgentFileName(entry.name)) out.push(join(dir, entry.name));
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const sub = (await readdir(join(dir, entry.name), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of sub) if (e.isFile() && isAgentFileName(e.name)) out.push(join(dir, entry.name, e.name));
  }
  return out;
}
