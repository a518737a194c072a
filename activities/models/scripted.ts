/**
 * The `scripted` provider: replays decisions from a YAML file, for tests and offline demos.
 *
 * The script's top level is a list; each entry is a decision object (`{action: RESPOND, response: Hi}`) or a string
 * of raw model output that is JSON-parsed (so a script can simulate garbage output). Decision number
 * `req.decisionIndex` (decisions asked for so far in the session) is returned, so activity retries and worker
 * restarts replay the same entry and never skip ahead.
 */
import { readFile, stat } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import type { LlmConfig } from '../../src/config/agent.js';
import { scriptedTitle, type TitleRequest, type TitleResult } from '../../src/engine/title.js';
import type { DecideRequest, DecideResult, SummarizeRequest, SummarizeResult } from '../../src/engine/types.js';
import type { DecideOptions, DecisionModel } from './decision-model.js';
import { clip } from '../../src/engine/memory.js';
import { parseDecisionText } from './output.js';

/** A script entry: a decision object, or raw model output text. */
export type ScriptEntry = Record<string, unknown> | string;

/** One request a {@link ScriptedModel} received. */
export type ScriptedRequest =
  | { kind: 'decide'; request: DecideRequest }
  | { kind: 'summarize'; request: SummarizeRequest }
  | { kind: 'title'; request: TitleRequest };

/** Requests kept in {@link ScriptedModel.requests} (newest); a long-running worker must not grow without bound. */
export const MAX_RECORDED_REQUESTS = 1_000;

/** Items quoted by the scripted summary (newest first, shown oldest first). */
export const SCRIPTED_SUMMARY_ITEMS = 4;

const scriptCache = new Map<string, { mtimeMs: number; size: number; entries: ScriptEntry[] }>();

/**
 * Reads and parses a script, cached per path and re-read when the file's mtime or size changes.
 *
 * @throws ApplicationFailure non-retryable `INVALID_CONFIG` if the file cannot be read, is not YAML, or its top level
 *   is not a list of objects and strings.
 */
export async function loadScript(path: string): Promise<ScriptEntry[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw invalidScript(path, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const cached = scriptCache.get(path);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.entries;
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw invalidScript(path, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(doc)) throw invalidScript(path, 'its top level must be a list of decisions');
  doc.forEach((entry, i) => {
    if (typeof entry !== 'string' && (typeof entry !== 'object' || entry === null || Array.isArray(entry))) {
      throw invalidScript(path, `entry #${i + 1} must be a decision object or a string of raw model output`);
    }
  });
  const entries = doc as ScriptEntry[];
  scriptCache.set(path, { mtimeMs: info.mtimeMs, size: info.size, entries });
  return entries;
}

/** {@link DecisionModel} that replays `llm.script`. Records every request in {@link requests}. */
export class ScriptedModel implements DecisionModel {
  /** Every request received, oldest first (at most {@link MAX_RECORDED_REQUESTS}). */
  readonly requests: ScriptedRequest[] = [];
  readonly #llm: LlmConfig;

  constructor(llm: LlmConfig) {
    this.#llm = llm;
  }

  /** The decide requests received, oldest first. */
  get decideRequests(): DecideRequest[] {
    return this.requests.flatMap((r) => (r.kind === 'decide' ? [r.request] : []));
  }

  /** The summarize requests received, oldest first. */
  get summarizeRequests(): SummarizeRequest[] {
    return this.requests.flatMap((r) => (r.kind === 'summarize' ? [r.request] : []));
  }

  /**
   * Returns script entry number `req.decisionIndex` (0-based). A string entry is parsed as JSON.
   *
   * @throws ApplicationFailure non-retryable: `SCRIPT_EXHAUSTED` past the end of the script, `MODEL_OUTPUT_INVALID`
   *   for a string entry that is not JSON, `INVALID_CONFIG` for an unreadable script.
   */
  async decide(req: DecideRequest, _opts?: DecideOptions): Promise<DecideResult> {
    this.#record({ kind: 'decide', request: req });
    const path = this.#scriptPath();
    const entries = await loadScript(path);
    const entry = entries[req.decisionIndex];
    if (entry === undefined) {
      throw ApplicationFailure.create({
        type: 'SCRIPT_EXHAUSTED',
        message:
          `script ${path} has ${entries.length} decision${entries.length === 1 ? '' : 's'}; decision ` +
          `#${req.decisionIndex + 1} (decisionIndex ${req.decisionIndex}) was asked for ` +
          `(session ${req.sessionId}, step ${req.stepId})`,
        nonRetryable: true,
        details: [{ script: path, decisions: entries.length, decisionIndex: req.decisionIndex }],
      });
    }
    const decision = typeof entry === 'string' ? parseDecisionText(entry, 'scripted') : structuredClone(entry);
    return { decision, model: `scripted:${path}`, usage: { inputTokens: 0, outputTokens: 0 } };
  }

  /**
   * Deterministic extractive summary consuming no script entry: the newest {@link SCRIPTED_SUMMARY_ITEMS} items as
   * `role: text` lines (oldest first), or the last previous summary when there are no items, clipped to `maxChars`.
   * Usage zero.
   */
  async summarize(req: SummarizeRequest): Promise<SummarizeResult> {
    this.#record({ kind: 'summarize', request: req });
    const lines = req.items.slice(-SCRIPTED_SUMMARY_ITEMS).map((i) => `${i.role}: ${i.text}`);
    const text = lines.length ? lines.join('\n') : (req.previousSummaries.at(-1) ?? '(nothing to summarise)');
    return { summary: clip(text, req.maxChars), model: 'scripted', usage: { inputTokens: 0, outputTokens: 0 } };
  }

  /** Deterministic title consuming no script entry: the user's first words (`scriptedTitle`). Usage zero. */
  async title(req: TitleRequest): Promise<TitleResult> {
    this.#record({ kind: 'title', request: req });
    return { title: scriptedTitle(req), model: 'scripted', usage: { inputTokens: 0, outputTokens: 0 } };
  }

  #scriptPath(): string {
    if (!this.#llm.script) throw invalidScript('(none)', 'the scripted provider needs `script`');
    return this.#llm.script;
  }

  #record(r: ScriptedRequest): void {
    this.requests.push(r);
    if (this.requests.length > MAX_RECORDED_REQUESTS) this.requests.splice(0, this.requests.length - MAX_RECORDED_REQUESTS);
  }
}

function invalidScript(path: string, problem: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'INVALID_CONFIG',
    message: `script ${path}: ${problem}`,
    nonRetryable: true,
  });
}
