/**
 * Validating agent YAML sent as text (`POST /agents/validate`, the flow builder's check-as-you-go): the checks of
 * `stepwise validate` (`./load.ts`: YAML syntax, schema with NOMOS aliases, alias conflicts, normalisation, cross
 * references, reachability, snapshot size), on text that comes from a caller rather than from the operator's disk.
 *
 * What differs, and why (a caller must not make the server run code, open connections or read its secrets):
 * - tool modules (`tools.tool_files`), external tools and MCP servers are never loaded: step tools are checked
 *   against the tools of a loaded agent (`tools`), and tools of MCP servers / external tool groups are not checked;
 *   without a loaded agent, tool names are not checked at all (one warning says so);
 * - `$VAR` / `${VAR}` are not expanded from the server's environment (a value could echo a secret into a message):
 *   a reference is reported as a warning and what depends on its value is not checked;
 * - files named by the YAML (`answer_model` / `schemas` JSON files, a scripted model's `script`) are read only inside
 *   `baseDir` (the loaded agent's directory); a path leaving it is an error; without `baseDir` they are not checked.
 *
 * Never throws: any failure of a check is reported as an error issue.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { expandToolGroups } from '../../activities/tools-external.js';
import { MAX_AGENT_SNAPSHOT_BYTES, type ToolDescriptor } from '../../src/config/agent.js';
import type { ConfigFiles } from '../../src/config/config-files.js';
import { interpolateDocument } from '../../src/config/interpolate.js';
import { agentIdFromName, nomosKeyWarnings } from '../../src/config/nomos.js';
import { llmEntries, normalizeAgent } from '../../src/config/normalize.js';
import { RawAgent } from '../../src/config/schema.js';
import { suggestKey } from '../../src/config/suggest.js';
import { dedupeIssues, parseAgentText } from '../../src/config/yaml-source.js';
import { applyToolDefs } from '../../src/config/tool-defs.js';
import { aliasIssues, crossReferenceIssues, formatKeyPath, type KeyPath, type PathIssue, zodPathIssues } from '../../src/config/validate.js';
import { jsonBytes } from '../../src/engine/state.js';
import type { ConfigIssue } from '../../src/errors.js';
import { nodeConfigFiles } from './config-files.js';

/** Without a `baseDir`, nothing named by the YAML is read (every file counts as missing, and those issues are dropped). */
const NO_FILES: ConfigFiles = { baseDir: '/', isFile: () => false, readText: () => undefined };

/** Where the text is checked against. */
export interface SourceValidationOptions {
  /** The name issues carry as `file` (default `agent.yaml`). */
  file?: string;
  /** Directory files named by the YAML are resolved in and confined to; absent: they are not checked. */
  baseDir?: string;
  /** Loaded tools step tools may name; absent: tool names are not checked. */
  tools?: readonly ToolDescriptor[];
}

/** Result of {@link validateAgentSource}: errors and warnings, each sorted by line. */
export interface SourceValidation {
  ok: boolean;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/**
 * The agent id a YAML text declares (its `name`, made URL-safe as the loader does), to find the loaded agent it
 * edits; undefined when the text does not parse or has no string `name`. Never throws.
 */
export function declaredAgentId(text: string): string | undefined {
  try {
    const name: unknown = parseDocument(text).get('name');
    return typeof name === 'string' ? agentIdFromName(name) : undefined;
  } catch {
    return undefined;
  }
}

/** Validates agent YAML text (rules in the module comment). Never throws. */
export function validateAgentSource(text: string, options: SourceValidationOptions = {}): SourceValidation {
  const file = options.file ?? 'agent.yaml';
  let issues: ConfigIssue[];
  try {
    issues = analyze(text, file, options);
  } catch (err) {
    issues = [{ file, path: '', message: `the document could not be checked: ${(err as Error).message}`, severity: 'error' }];
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const errors = issues.filter((i) => i.severity === 'error');
  return { ok: errors.length === 0, errors, warnings: issues.filter((i) => i.severity === 'warning') };
}

function analyze(text: string, file: string, options: SourceValidationOptions): ConfigIssue[] {
  const parsedText = parseAgentText(text, file);
  if ('issues' in parsedText) return parsedText.issues;
  const { doc, locator } = parsedText;
  const issues: ConfigIssue[] = [];
  // Every reference is "unset": the server's environment is never read here.
  const { unset, kept } = interpolateDocument(doc, {});
  const unchecked = [...unset, ...kept];
  for (const ref of unchecked) {
    issues.push(locator.toIssue({ path: ref.path, severity: 'warning', message: `$${ref.variable} is not expanded by this check (the server reads its environment when it loads the file): what depends on its value is not checked` }));
  }
  const uncheckedPaths = unchecked.map((u) => formatKeyPath(u.path));
  const checked = (i: PathIssue) => {
    const p = formatKeyPath(i.path);
    return !uncheckedPaths.some((u) => p === u || p.startsWith(`${u}.`) || p.startsWith(`${u}[`));
  };
  const plain: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = RawAgent.safeParse(plain);
  const suggest = (p: KeyPath, key: string) => suggestKey(RawAgent, p, key);
  const shapeIssues = [...aliasIssues(plain), ...(parsed.success ? [] : zodPathIssues(parsed.error.issues, (p) => locator.has(p), [], suggest))];
  issues.push(...dedupeIssues(shapeIssues.filter(checked)).map((i) => locator.toIssue(i)));
  if (!parsed.success || issues.some((i) => i.severity === 'error')) return issues;

  const confined = confineFiles(parsed.data, options.baseDir);
  issues.push(...confined.issues.map((i) => locator.toIssue(i)));
  const raw = confined.raw;
  const serverNames = new Set<string>([
    ...(raw.tools?.mcp_servers ?? []).map((s) => s.name),
    ...(raw.tools?.external_tools ?? raw.tools?.ext ?? []).flatMap((t) => (t.name ? [t.name] : [])),
  ]);
  const descriptors = [...(options.tools ?? [])];
  if (!options.tools) issues.push(locator.toIssue({ path: ['tools'], severity: 'warning', message: 'tool names are not checked: no loaded agent has this name (tool modules are loaded only by the server, from its files)' }));
  issues.push(...nomosKeyWarnings(raw).map((i) => locator.toIssue(i)));
  const applied = options.tools ? applyToolDefs(descriptors, raw.tools) : { descriptors, issues: [] };
  issues.push(...applied.issues.map((i) => locator.toIssue(i)));
  const names = new Set(descriptors.map((d) => d.name));
  const groups: Record<string, string[]> = {};
  for (const name of names) {
    const at = name.indexOf('__');
    if (at > 0) (groups[name.slice(0, at)] ??= []).push(name);
  }
  const expanded = expandToolGroups(raw, groups, names);
  const normalized = normalizeAgent(expanded, { files: options.baseDir ? nodeConfigFiles(options.baseDir) : NO_FILES, tools: applied.descriptors });
  const fileProblem = (i: PathIssue) => !options.baseDir && / not found \(looked at /.test(i.message);
  issues.push(...normalized.issues.filter((i) => !fileProblem(i) && checked(i)).map((i) => locator.toIssue(i)));
  const llmNames = new Set(llmEntries(raw).map(([name]) => name));
  const crossRefs = crossReferenceIssues(expanded, { llmNames, ...(options.tools ? { toolNames: names } : {}), deferredServers: serverNames });
  issues.push(...crossRefs.filter(checked).map((i) => locator.toIssue(i)));
  const bytes = normalized.snapshot ? jsonBytes(normalized.snapshot) : 0;
  if (bytes > MAX_AGENT_SNAPSHOT_BYTES) {
    issues.push(locator.toIssue({ path: [], message: `the agent is ${bytes} bytes as a session snapshot, over the ${MAX_AGENT_SNAPSHOT_BYTES}-byte limit (it rides in every session's workflow input)` }));
  }
  return issues;
}

/**
 * Keeps file references inside `baseDir`: a path that leaves it is an error and is replaced (in a copy) by a value
 * that reads nothing, so normalisation never opens it. Without `baseDir` nothing is replaced (and the caller drops
 * the "not found" issues).
 */
function confineFiles(raw: RawAgent, baseDir: string | undefined): { raw: RawAgent; issues: PathIssue[] } {
  const issues: PathIssue[] = [];
  if (!baseDir) return { raw, issues };
  const outside = (written: string) => {
    const rel = relative(baseDir, resolve(baseDir, written));
    return rel.startsWith('..') || isAbsolute(rel);
  };
  const copy = structuredClone(raw);
  const refuse = (path: KeyPath, written: string) =>
    issues.push({ path, message: `${written} is outside the agent's directory: files named by a checked document must be beside it` });
  const schemaNames = new Set(Object.keys(copy.schemas ?? {}));
  copy.steps.forEach((step, i) => {
    const model = step.answer_model;
    if (typeof model === 'string' && !schemaNames.has(model.split('.')[0] ?? '') && outside(model)) {
      refuse(['steps', i, 'answer_model'], model);
      step.answer_model = {};
    }
  });
  for (const [name, written] of Object.entries(copy.schemas ?? {})) {
    if (outside(written)) {
      refuse(['schemas', name], written);
      copy.schemas![name] = 'refused.json';
    }
  }
  const embedding = typeof copy.embedding_model === 'object' ? [['embedding', copy.embedding_model, ['embedding_model']] as const] : [];
  for (const [, llm, path] of [...llmEntries(copy), ...embedding]) {
    if (llm.script !== undefined && outside(llm.script)) {
      refuse([...path, 'script'], llm.script);
      llm.script = '.';
    }
  }
  return { raw: copy, issues };
}

