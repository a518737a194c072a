/**
 * Loading agent YAML files (Node side: reads files, imports tool modules, connects MCP servers): parse with positions → `$VAR` interpolation → schema check → tool modules →
 * normalisation → cross-reference checks → {@link AgentSnapshot} plus the agent's {@link ToolRegistry}.
 *
 * Every problem is a {@link ConfigIssue} with file, line, column and key path. {@link validateAgentFile} returns them;
 * {@link loadAgent} / {@link loadAgents} throw one {@link ConfigError} (code INVALID_CONFIG, not retryable) listing
 * every error.
 */
import { readFile } from 'node:fs/promises';
import { dirname, normalize, resolve } from 'node:path';
import { expandToolGroups, loadExternalTools } from '../../activities/tools-external.js';
import type { McpToolSource } from '../../activities/tools-mcp.js';
import { checkToolDefinition, toolParametersJsonSchema, ToolRegistry } from '../../activities/tools.js';
import { type AgentSnapshot, MAX_AGENT_SNAPSHOT_BYTES, type ToolDescriptor } from '../../src/config/agent.js';
import { interpolateDocument } from '../../src/config/interpolate.js';
import { inferLlmProviders } from '../../src/config/model-inference.js';
import { nomosKeyWarnings } from '../../src/config/nomos.js';
import { llmEntries, normalizeAgent } from '../../src/config/normalize.js';
import { applyToolDefs, type ToolArgDefaults } from '../../src/config/tool-defs.js';
import { RawAgent } from '../../src/config/schema.js';
import { suggestKey } from '../../src/config/suggest.js';
import { dedupeIssues, parseAgentText } from '../../src/config/yaml-source.js';
import { aliasIssues, crossReferenceIssues, formatKeyPath, zodPathIssues, type PathIssue } from '../../src/config/validate.js';
import { jsonBytes } from '../../src/engine/state.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import type { ToolDefinition } from '../../src/tools.js';
import { nodeConfigFiles } from './config-files.js';
import { findAgentFiles } from './files.js';
import { loadToolFiles } from './tool-modules.js';

/** A loaded agent: the snapshot sessions pin, the tools the worker runs, non-fatal warnings, the absolute file path. */
export interface LoadedAgent {
  snapshot: AgentSnapshot;
  tools: ToolRegistry;
  warnings: ConfigIssue[];
  file: string;
  /** NOMOS `server.port` / `server.host`, when written: `stepwise api` / `dev` listen there unless PORT / HOST are set. */
  server?: { port?: number; host?: string };
}

/** Options of the loaders. */
export interface LoadOptions {
  /** Variables for `$VAR` interpolation. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Result of {@link validateAgentFile}: the snapshot when there is no error, and every issue (errors and warnings). */
export interface AgentValidation {
  snapshot?: AgentSnapshot;
  issues: ConfigIssue[];
}

interface Analysis extends AgentValidation {
  /** Connected MCP servers: handed to the registry, or closed when the analysis fails / only validates. */
  sources?: McpToolSource[];
  definitions?: ToolDefinition[];
  descriptors?: ToolDescriptor[];
  defaults?: ToolArgDefaults;
  namePosition?: { line?: number; column?: number };
  server?: LoadedAgent['server'];
}

/**
 * Why an environment reference in an llm header is an error: the value would be copied into the snapshot, which every
 * session pins in its workflow input (history) and `GET /agents/:agentId` shows. There is no header-from-environment
 * mechanism: the one secret a model request needs, its API key, is read by the worker from `api_key_env`.
 */
const headerEnvMessage = (variables: string[]) =>
  `an environment value in an llm header (${variables.map((v) => `$${v}`).join(', ')}) would be copied into the agent ` +
  'snapshot, and so into every workflow history: put the API key in `api_key_env: <VARIABLE>` (the worker reads it ' +
  'at call time); headers take literal values only';

/** `llm.headers.X`, `llm.<name>.headers.X` or `embedding_model.headers.X`: values that end up in workflow history. */
function isHeaderPath(path: (string | number)[]): boolean {
  if (path[0] === 'embedding_model') return path[1] === 'headers';
  return path[0] === 'llm' && (path[1] === 'headers' || path[2] === 'headers');
}

const hasErrors = (issues: ConfigIssue[]) => issues.some((i) => i.severity === 'error');

/**
 * Validates one agent file without throwing for config problems (the `stepwise validate` path). Unlike loading, a
 * remote MCP server that cannot be reached is a warning (its tools, and step tools naming it, are not checked), so
 * validation works offline.
 *
 * @param path the YAML file; issues name it as given.
 */
export async function validateAgentFile(path: string, options: LoadOptions = {}): Promise<AgentValidation> {
  const { snapshot, issues, sources } = await analyzeAgentFile(path, options.env ?? process.env, true);
  await closeSources(sources);
  return snapshot ? { snapshot, issues } : { issues };
}

/**
 * Loads one agent file.
 *
 * @returns the snapshot, its tool registry, warnings (e.g. unreachable steps) and the absolute file path.
 * @throws ConfigError (INVALID_CONFIG, not retryable) listing every error found.
 */
export async function loadAgent(path: string, options: LoadOptions = {}): Promise<LoadedAgent> {
  const analysis = await analyzeAgentFile(path, options.env ?? process.env);
  if (!analysis.snapshot) await closeSources(analysis.sources);
  return toLoaded(path, analysis);
}

/**
 * Loads several agents. Each argument is a YAML file or a directory; a directory contributes every `*.agent.yaml`,
 * `*.agent.yml` and `agent.yaml` in it and in its immediate subdirectories (e.g. `examples/shop/config.agent.yaml`),
 * except NOMOS test specs (`tests.agent.yaml`, `*.tests.agent.yaml`), which describe tests, not agents.
 *
 * @throws ConfigError listing every error of every file, including a missing path, a directory without agents and
 *   two files declaring the same agent `name`.
 */
export async function loadAgents(pathsOrDirs: string[], options: LoadOptions = {}): Promise<LoadedAgent[]> {
  const { files, issues } = await checkAgentFiles(pathsOrDirs, options);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) {
    for (const f of files) await closeSources(f.analysis.sources);
    throw new ConfigError(errors);
  }
  return files.map((f) => toLoaded(f.file, f.analysis));
}

/** One file's outcome in {@link validateAgentFiles}. */
export interface FileValidation extends AgentValidation {
  /** The file as found (a directory argument joined with the file name). */
  file: string;
}

/**
 * Validates files and directories (expanded as in {@link loadAgents}) without throwing for config problems.
 *
 * @returns per-file results (each with its own issues) and `issues`: every issue of every file plus discovery
 *   problems and duplicate agent names.
 */
export async function validateAgentFiles(
  pathsOrDirs: string[],
  options: LoadOptions = {},
): Promise<{ files: FileValidation[]; issues: ConfigIssue[] }> {
  const checked = await checkAgentFiles(pathsOrDirs, options, true);
  for (const { analysis } of checked.files) await closeSources(analysis.sources);
  const files = checked.files.map(({ file, analysis }) =>
    analysis.snapshot ? { file, snapshot: analysis.snapshot, issues: analysis.issues } : { file, issues: analysis.issues },
  );
  return { files, issues: checked.issues };
}

async function checkAgentFiles(
  pathsOrDirs: string[],
  options: LoadOptions,
  validateOnly = false,
): Promise<{ files: { file: string; analysis: Analysis }[]; issues: ConfigIssue[] }> {
  const found = await findAgentFiles(pathsOrDirs);
  const issues = [...found.issues];
  const files: { file: string; analysis: Analysis }[] = [];
  const names = new Map<string, string>();
  for (const file of found.files) {
    const analysis = await analyzeAgentFile(file, options.env ?? process.env, validateOnly);
    const name = analysis.snapshot?.name;
    const first = name === undefined ? undefined : names.get(name);
    if (name !== undefined && first !== undefined) {
      const duplicate: ConfigIssue = {
        file: normalize(file),
        ...analysis.namePosition,
        path: 'name',
        message: `duplicate agent name "${name}" (also in ${first})`,
        severity: 'error',
      };
      analysis.issues.push(duplicate);
      delete analysis.snapshot;
    } else if (name !== undefined) names.set(name, normalize(file));
    issues.push(...analysis.issues);
    files.push({ file: normalize(file), analysis });
  }
  return { files, issues };
}

function toLoaded(path: string, analysis: Analysis): LoadedAgent {
  const errors = analysis.issues.filter((i) => i.severity === 'error');
  if (errors.length > 0 || !analysis.snapshot) throw new ConfigError(errors);
  return {
    snapshot: analysis.snapshot,
    tools: new ToolRegistry(analysis.definitions ?? [], {
      descriptors: analysis.descriptors,
      defaults: analysis.defaults,
      sources: analysis.sources,
    }),
    warnings: analysis.issues.filter((i) => i.severity === 'warning'),
    file: resolve(path),
    ...(analysis.server ? { server: analysis.server } : {}),
  };
}

/**
 * The whole pipeline for one file; never throws for config problems.
 *
 * @param validateOnly `stepwise validate`: unreachable remote MCP servers are warnings (see {@link validateAgentFile}).
 */
async function analyzeAgentFile(path: string, env: NodeJS.ProcessEnv, validateOnly = false): Promise<Analysis> {
  const file = normalize(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { issues: [{ file, path: '', message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, severity: 'error' }] };
  }
  const parsedText = parseAgentText(text, file);
  if ('issues' in parsedText) return { issues: parsedText.issues };
  const { doc, locator } = parsedText;
  const issues: ConfigIssue[] = [];
  const { unset, kept, references } = interpolateDocument(doc, env);
  const headerRefs = references.filter((r) => isHeaderPath(r.path));
  for (const [i, ref] of headerRefs.entries()) {
    const key = formatKeyPath(ref.path);
    if (headerRefs.findIndex((r) => formatKeyPath(r.path) === key) !== i) continue;
    const variables = headerRefs.filter((r) => formatKeyPath(r.path) === key).map((r) => r.variable);
    issues.push(locator.toIssue({ path: ref.path, message: headerEnvMessage(variables) }));
  }
  for (const u of unset.filter((r) => !isHeaderPath(r.path))) {
    issues.push(locator.toIssue({ path: u.path, message: `environment variable ${u.variable} is not set (use \${${u.variable}:-default} for a default)` }));
  }
  for (const k of kept.filter((r) => !isHeaderPath(r.path))) {
    issues.push(locator.toIssue({ path: k.path, severity: 'warning', message: `environment variable ${k.variable} is not set: "$${k.variable}" kept as written (as NOMOS does; use \${${k.variable}} to require it)` }));
  }
  const unsetPaths = unset.map((u) => formatKeyPath(u.path));
  const notCascade = (i: PathIssue) => {
    const p = formatKeyPath(i.path);
    return !unsetPaths.some((u) => p === u || p.startsWith(`${u}.`) || p.startsWith(`${u}[`));
  };
  // Model strings (`llm: gpt-4.1-mini`, `model` without `provider`) get their provider first (./model-inference.ts).
  const inferred = inferLlmProviders(doc.toJS(), env);
  issues.push(...inferred.issues.map((i) => locator.toIssue(i)));
  const plain: unknown = inferred.doc;
  const parsed = RawAgent.safeParse(plain);
  const suggest = (p: (string | number)[], key: string) => suggestKey(RawAgent, p, key);
  const shapeIssues = [...aliasIssues(plain), ...(parsed.success ? [] : zodPathIssues(parsed.error.issues, (p) => locator.has(p), [], suggest))];
  // A model string without a known provider was reported above; the schema's "expected object" there is its echo.
  const inferredPaths = inferred.issues.flatMap((i) => {
    const p = formatKeyPath(i.path);
    return p.endsWith('.model') ? [p, `${p.slice(0, -'.model'.length)}.provider`] : [p];
  });
  const notInferred = (i: PathIssue) => !inferredPaths.some((p) => formatKeyPath(i.path) === p || formatKeyPath(i.path).startsWith(`${p}.`));
  issues.push(...dedupeIssues(shapeIssues.filter(notCascade).filter(notInferred)).map((i) => locator.toIssue(i)));
  const namePosition = locator.position(['name']);
  if (!parsed.success || hasErrors(issues)) return { issues: byLine(issues), namePosition };
  const raw = parsed.data;
  const baseDir = dirname(resolve(file));

  const tools = await loadToolFiles(raw, baseDir);
  issues.push(...tools.issues.map((i) => locator.toIssue(i)));
  const external = await loadExternalTools(raw, baseDir, {
    moduleToolNames: new Set(tools.definitions.map((d) => d.name)),
    deferUnreachable: validateOnly,
  });
  const sources = external.sources;
  issues.push(...external.issues.map((i) => locator.toIssue(i)));
  if (external.issues.some((i) => i.severity !== 'warning')) tools.failed = true;
  for (const def of external.definitions) {
    const problem = checkToolDefinition(def);
    if (problem || tools.definitions.some((d) => d.name === def.name)) {
      issues.push(locator.toIssue({ path: ['tools'], message: problem ?? `duplicate tool name "${def.name}" (external tool and tool module)` }));
      tools.failed = true;
      continue;
    }
    tools.definitions.push(def);
    tools.descriptors.push({ name: def.name, description: def.description, parameters: toolParametersJsonSchema(def.parameters) });
  }
  issues.push(...nomosKeyWarnings(raw).map((i) => locator.toIssue(i)));
  const applied = tools.failed
    ? { descriptors: tools.descriptors, defaults: {}, issues: [] }
    : applyToolDefs(tools.descriptors, raw.tools);
  issues.push(...applied.issues.map((i) => locator.toIssue(i)));

  const expanded = expandToolGroups(raw, external.groups, new Set(tools.descriptors.map((d) => d.name)));
  const normalized = normalizeAgent(expanded, { files: nodeConfigFiles(baseDir), tools: applied.descriptors, env });
  issues.push(...normalized.issues.map((i) => locator.toIssue(i)));
  const llmNames = new Set(llmEntries(raw).map(([name]) => name));
  const toolNames = tools.failed ? undefined : new Set(tools.descriptors.map((d) => d.name));
  const deferredServers = new Set(external.unreachable);
  issues.push(...crossReferenceIssues(expanded, { llmNames, toolNames, deferredServers }).map((i) => locator.toIssue(i)));

  const snapshotBytes = normalized.snapshot ? jsonBytes(normalized.snapshot) : 0;
  if (snapshotBytes > MAX_AGENT_SNAPSHOT_BYTES) {
    issues.push(
      locator.toIssue({
        path: [],
        message: `the agent is ${snapshotBytes} bytes as a session snapshot, over the ${MAX_AGENT_SNAPSHOT_BYTES}-byte limit (it rides in every session's workflow input): shorten prompts, descriptions or tool schemas`,
      }),
    );
  }
  byLine(issues);
  if (hasErrors(issues) || !normalized.snapshot) return { issues, namePosition, sources };
  const server = raw.server?.port !== undefined || raw.server?.host !== undefined ? { port: raw.server.port, host: raw.server.host } : undefined;
  return {
    snapshot: normalized.snapshot,
    definitions: tools.definitions,
    descriptors: applied.descriptors,
    defaults: applied.defaults,
    issues,
    namePosition,
    sources,
    ...(server ? { server } : {}),
  };
}

async function closeSources(sources: McpToolSource[] | undefined): Promise<void> {
  await Promise.all((sources ?? []).map((s) => s.close()));
}

/** Sorts issues in place by line, then column (stable: same-place issues keep their order). */
function byLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}


