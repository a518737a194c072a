/**
 * Turn executors that call the activity functions directly, in this process (no Temporal): `stepwise chat`, the
 * API's in-process backend, the examples' tests. Failure handling mirrors the workflow (workflows/session.ts):
 * `MODEL_OUTPUT_INVALID` → re-ask; other failures → retried like the workflow's RetryPolicy would (retryable ones only,
 * a few attempts, honouring `nextRetryDelay`), then a fallback reply.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { SessionActivities } from '../src/engine/types.js';
import type { CallReport, DecideOutcome, RankOutcome, SummarizeOutcome } from '../src/engine/driver.js';
import type { ToolCallResult } from '../src/engine/types.js';
import type { ProviderUsage } from '../src/engine/usage.js';
import type { AgentExecutors } from './local-sessions.js';

/** Attempts per call, backoff start and cap (a short version of the workflow's policy, for interactive use). */
export const LOCAL_RETRY = { maximumAttempts: 3, initialIntervalMs: 500, maximumIntervalMs: 5_000 };

function isNonRetryable(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

async function withRetry<T>(fn: () => Promise<T>, sleep: (ms: number) => Promise<void>): Promise<T> {
  let delay = LOCAL_RETRY.initialIntervalMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (isNonRetryable(err) || attempt >= LOCAL_RETRY.maximumAttempts) throw err;
      const next = err instanceof ApplicationFailure && err.nextRetryDelay ? Number(err.nextRetryDelay) : delay;
      await sleep(Math.min(Number.isFinite(next) ? next : delay, LOCAL_RETRY.maximumIntervalMs));
      delay = Math.min(delay * 2, LOCAL_RETRY.maximumIntervalMs);
    }
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The usage and model of an activity result, for the host to sum (see `CallReport`). */
const report = (out: { usage?: ProviderUsage; model?: string }): CallReport => ({
  ...(out.usage ? { usage: out.usage } : {}),
  ...(out.model ? { model: out.model } : {}),
});

/** Builds executors over activity functions. `sleep` is injectable for tests. */
export function localExecutors(
  activities: Pick<SessionActivities, 'decide' | 'runTool' | 'summarize'> & Partial<Pick<SessionActivities, 'rank'>>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): AgentExecutors {
  return {
    async decide(request): Promise<DecideOutcome> {
      try {
        const out = await withRetry(() => activities.decide(request), sleep);
        return { type: 'decided', decision: out.decision, ...report(out) };
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === 'MODEL_OUTPUT_INVALID') {
          return { type: 'decisionInvalid', message: err.message };
        }
        return { type: 'decideFailed', message: message(err) };
      }
    },
    async runTools(calls): Promise<ToolCallResult[]> {
      return Promise.all(
        calls.map(async (call): Promise<ToolCallResult> => {
          try {
            return await withRetry(() => activities.runTool(call), sleep);
          } catch (err) {
            return { callId: call.callId, tool: call.tool, ok: false, error: message(err) };
          }
        }),
      );
    },
    ...(activities.rank
      ? {
          async rank(request): Promise<RankOutcome> {
            try {
              const out = await withRetry(() => activities.rank!(request), sleep);
              return { type: 'ranked', scores: out.scores, ...report(out) };
            } catch (err) {
              return { type: 'rankFailed', message: message(err) };
            }
          },
        }
      : {}),
    async summarize(request): Promise<SummarizeOutcome> {
      try {
        const out = await withRetry(() => activities.summarize(request), sleep);
        return { type: 'summarized', summary: out.summary, ...report(out) };
      } catch (err) {
        return { type: 'summarizeFailed', message: message(err) };
      }
    },
  };
}
