/**
 * Importing an agent's tool modules (`tools.tool_files`): TypeScript/JavaScript modules exporting `tools`, or the
 * TypeScript port beside a NOMOS Python module (`barista_tools.py` → `barista_tools.ts`).
 */
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { importToolModule, toolParametersJsonSchema } from '../../activities/tools.js';
import type { ToolDescriptor } from '../../src/config/agent.js';
import { canonicalTools } from '../../src/config/nomos.js';
import type { RawAgent } from '../../src/config/schema.js';
import type { PathIssue } from '../../src/config/validate.js';
import type { ToolDefinition } from '../../src/tools.js';

const TOOL_EXTENSIONS = ['.ts', '.js', '.mjs'];

/** A NOMOS tool module reference: a `.py` file, or a dotted module name (`tools.my_tools`). */
function isPythonModule(written: string): boolean {
  return written.endsWith('.py') || /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(written);
}

/** `barista_tools.py` → `barista_tools`; `tools.my_tools` → `tools/my_tools`. */
function pythonStem(written: string): string {
  return written.endsWith('.py') ? written.slice(0, -3) : written.replaceAll('.', '/');
}

/** The TypeScript/JavaScript port of a NOMOS Python tool module, if one exists beside it (`.ts`, `.js`, `.mjs`). */
async function typescriptPort(baseDir: string, written: string): Promise<{ written: string; abs: string } | undefined> {
  if (!isPythonModule(written)) return undefined;
  for (const ext of TOOL_EXTENSIONS) {
    const candidate = `${pythonStem(written)}${ext}`;
    const abs = resolve(baseDir, candidate);
    if ((await stat(abs).catch(() => undefined))?.isFile()) return { written: candidate, abs };
  }
  return undefined;
}

/** Imports `tools.tool_files`; `failed` when any module could not be used (tool reference checks are then skipped). */
export async function loadToolFiles(
  raw: RawAgent,
  baseDir: string,
): Promise<{ definitions: ToolDefinition[]; descriptors: ToolDescriptor[]; issues: PathIssue[]; failed: boolean }> {
  const definitions: ToolDefinition[] = [];
  const descriptors: ToolDescriptor[] = [];
  const issues: PathIssue[] = [];
  const origin = new Map<string, string>();
  let failed = false;
  const { toolFiles, toolFilesKey } = canonicalTools(raw.tools);
  for (const [k, written] of toolFiles.entries()) {
    const path = ['tools', toolFilesKey, k];
    let abs = resolve(baseDir, written);
    if (!TOOL_EXTENSIONS.includes(extname(abs))) {
      const port = await typescriptPort(baseDir, written);
      if (!port) {
        issues.push({ path, message: `tool module ${written} must be a .ts, .js or .mjs file${isPythonModule(written) ? ` (NOMOS Python tools: write ${pythonStem(written)}.ts exporting \`tools\` beside the YAML)` : ''}` });
        failed = true;
        continue;
      }
      issues.push({ path, severity: 'warning', message: `NOMOS Python module ${written}: loading its TypeScript port ${port.written}` });
      abs = port.abs;
    }
    const info = await stat(abs).catch(() => undefined);
    if (!info?.isFile()) {
      issues.push({ path, message: `tool module ${written} not found (looked at ${abs})` });
      failed = true;
      continue;
    }
    let tools: ToolDefinition[];
    try {
      tools = await importToolModule(abs);
    } catch (err) {
      issues.push({ path, message: `tool module ${written}: ${(err as Error).message}` });
      failed = true;
      continue;
    }
    for (const tool of tools) {
      const other = origin.get(tool.name);
      if (other !== undefined) {
        issues.push({ path, message: `duplicate tool name "${tool.name}" in ${written} (also in ${other})` });
        continue;
      }
      origin.set(tool.name, written);
      definitions.push(tool);
      descriptors.push({ name: tool.name, description: tool.description, parameters: toolParametersJsonSchema(tool.parameters) });
    }
  }
  return { definitions, descriptors, issues, failed };
}
