/**
 * In-memory executors for driving the engine in tests: a scripted decision list (position = the request's
 * `decisionIndex`, like the real scripted model), tools as plain functions, and a deterministic clock.
 * Records every request so tests can assert on what the engine asked.
 */
import type { DecideOutcome, SummarizeOutcome, TurnExecutors } from '../../src/engine/driver.js';
import type { DecideRequest, SummarizeRequest, ToolCallRequest, ToolCallResult } from '../../src/engine/types.js';

/** A script entry: a decision object, or an outcome to return as is (e.g. `{ type: 'decideFailed', ... }`). */
export type ScriptEntry = Record<string, unknown> | DecideOutcome;

export interface ScriptedExecutors extends TurnExecutors {
  decideRequests: DecideRequest[];
  toolRequests: ToolCallRequest[][];
  summarizeRequests: SummarizeRequest[];
}

/**
 * @param script decisions consumed by `decisionIndex`; running past the end yields `decideFailed`.
 * @param tools tool implementations by name; a throwing tool yields `{ ok: false }` (with `invalidArguments` when the
 *   thrown error has `invalidArguments: true`, as the tool registry marks argument validation failures).
 * @param startMs clock start (each `now()` call advances 1 ms).
 */
export function scriptedExecutors(
  script: ScriptEntry[],
  tools: Record<string, (args: Record<string, unknown>, req: ToolCallRequest) => unknown> = {},
  /** `summary` may throw: the outcome is then `summarizeFailed` with the error's message. */
  options: { startMs?: number; summary?: (req: SummarizeRequest) => string } = {},
): ScriptedExecutors {
  let clock = options.startMs ?? Date.UTC(2026, 0, 1);
  const decideRequests: DecideRequest[] = [];
  const toolRequests: ToolCallRequest[][] = [];
  const summarizeRequests: SummarizeRequest[] = [];
  return {
    decideRequests,
    toolRequests,
    summarizeRequests,
    now: () => new Date(clock++).toISOString(),
    async decide(req): Promise<DecideOutcome> {
      decideRequests.push(req);
      const entry = script[req.decisionIndex];
      if (entry === undefined) return { type: 'decideFailed', message: `script exhausted at #${req.decisionIndex}` };
      if (typeof entry.type === 'string' && !('action' in entry)) return entry as DecideOutcome;
      return { type: 'decided', decision: entry };
    },
    async runTools(calls): Promise<ToolCallResult[]> {
      toolRequests.push(calls);
      return Promise.all(
        calls.map(async (c): Promise<ToolCallResult> => {
          const fn = tools[c.tool];
          if (!fn) return { callId: c.callId, tool: c.tool, ok: false, error: `no tool ${c.tool}` };
          try {
            return { callId: c.callId, tool: c.tool, ok: true, result: await fn(c.arguments, c) };
          } catch (err) {
            const invalid = (err as { invalidArguments?: boolean }).invalidArguments ? { invalidArguments: true as const } : {};
            return { callId: c.callId, tool: c.tool, ok: false, error: (err as Error).message, ...invalid };
          }
        }),
      );
    },
    async summarize(req): Promise<SummarizeOutcome> {
      summarizeRequests.push(req);
      try {
        const text = options.summary
          ? options.summary(req)
          : `summary(${req.purpose} ${req.flowId}): ${req.items.map((i) => i.text).join(' | ')}`;
        return { type: 'summarized', summary: text };
      } catch (err) {
        return { type: 'summarizeFailed', message: (err as Error).message };
      }
    },
  };
}
