/**
 * How the session workflow plays the engine's commands: `decide`, `runTool`, `summarize` and `rank` as activities
 * (timeouts and retry policies below), their failures turned into engine inputs so a turn never just crashes.
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure engine code and activity *types* only.
 */
import {
  ActivityFailure,
  type ActivityInterfaceFor,
  type ActivityOptions,
  ApplicationFailure,
  isCancellation,
  type LocalActivityInterfaceFor,
  type LocalActivityOptions,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { SessionActivities } from '../src/engine/types.js';
import type { DecideOutcome, RankOutcome, SummarizeOutcome, TurnExecutors } from '../src/engine/driver.js';
import type { TitleRequest, TitleResult } from '../src/engine/title.js';
import type { SummarizeResult, ToolCallResult } from '../src/engine/types.js';
import type { ProviderUsage, UsagePurpose } from '../src/engine/usage.js';
import { PATCH_IDS } from './shared.js';

/**
 * Heartbeat timeout of the activities that heartbeat (LLM calls, tools, titles): a worker that stops beating for this
 * long is taken for dead and the call is retried on another. The activities beat every 500 ms and the worker sends a
 * beat to the server at least every 500 ms (`STEPWISE_HEARTBEAT_THROTTLE_MS`), so a healthy worker's beat may be up to
 * 1 s late (a busy event loop, a slow RPC) before its call is retried. 3 s until 2026-12-08: `npm run bench:crash`
 * measured the retry about 1 s after the timeout runs out from the kill (docs/durable-sessions.md), and issue 21's
 * goal is a reply at most 3 s after the killed call's own time. Changing it is replay-safe (replay compares an
 * activity's type and id, not its options).
 */
const HEARTBEAT_TIMEOUT = '1.5 seconds';

/**
 * LLM calls: 2 min per attempt (a long generation), a heartbeat every 500 ms by the activity so a dead worker is
 * noticed after 1.5 s (heartbeat timeout, {@link HEARTBEAT_TIMEOUT}); retries with backoff 1 s → 30 s for 6 attempts (~2 min of outage), never
 * for non-retryable types; all attempts together at most 10 min (schedule-to-close): a turn never hangs on a provider.
 */
const LLM_OPTIONS: LocalActivityOptions & ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['MODEL_OUTPUT_INVALID', 'SCRIPT_EXHAUSTED', 'INVALID_CONFIG'],
  },
};

const llm = proxyActivities<SessionActivities>({ ...LLM_OPTIONS, heartbeatTimeout: HEARTBEAT_TIMEOUT });

/**
 * LLM decisions of sessions started between the `decide-local-activity` and `no-local-activities` patches (which
 * undid it: a local activity's late resolution broke replay under bursts, docs/chaos.md): local activities, run by the worker
 * inside the workflow task that asked for them, so a one-decision turn is one workflow task (the update is accepted,
 * decided and answered in it) instead of two plus a task-queue round trip: measured on the dev server, a REST turn
 * went from 3.2x to 2.1x a bare update round trip and from 12 to 7 history events. Same timeouts and retries as `llm`
 * (backoffs over 10 s become durable timers). A worker that dies mid-call is noticed by the workflow task timeout
 * (10 s) instead of the heartbeat timeout, and the call runs again on another worker, as an activity's would.
 */
const llmLocal = proxyLocalActivities<SessionActivities>({ ...LLM_OPTIONS, localRetryThreshold: '10 seconds' });

/**
 * Tools: 1 min per attempt, 1.5 s heartbeat timeout (a dead worker's call is retried elsewhere within seconds; a tool
 * must not block the event loop that long), up to 10 attempts 0.25 s, 1 s, 4 s, then 10 s apart (tools should be
 * idempotent on their `idempotencyKey`, `<sessionId>/<callId>`; a quick first retry resumes a crashed worker's call
 * sooner), all attempts together at most 5 min (schedule-to-close).
 *
 * Only a lost attempt fails the activity: a tool's own error is a result the model sees (activities/tools.ts), so
 * every retry here is an attempt whose worker died, stalled or lost its connection. Three were too few: a worker
 * stopped (SIGSTOP) with its polls open took all three, one after the other, while the tool's effect had been
 * committed by the first, so the model was told it failed (chaos suite, seed 7006, invariant 2). Ten attempts span
 * about 90 s of such losses (1.5 s heartbeat timeout each, plus the backoffs), past a 40 s stall and its open polls.
 * Changing the policy is replay-safe (replay compares an activity's type and id, not its options).
 */
const tools = proxyActivities<SessionActivities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '5 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '250 milliseconds', backoffCoefficient: 4, maximumInterval: '10 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['TOOL_NOT_FOUND'] },
});

/**
 * Embeddings ranking (sessions since the `embedding-retrieval` patch): a local activity until `no-local-activities`
 * (no task-queue round trip, one marker in history), a regular one since; 15 s per attempt, 3 attempts 1 s then 2 s apart, at most 1 min in all; a failure never fails
 * the turn (BM25 is used instead), so a slow or broken embeddings endpoint costs at most that minute.
 */
const RANK_OPTIONS: LocalActivityOptions & ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['INVALID_CONFIG', 'MODEL_OUTPUT_INVALID'] },
};
const ranker = byActivityMode(RANK_OPTIONS);

/**
 * Session titles (sessions with `session_title`, since the `session-title` patch): 30 s per attempt, 1.5 s heartbeat
 * timeout, 3 attempts 1 s then 2 s apart, at most 2 min in all; an empty title, a bad config or a refused request are
 * not retried. A failure only means the session keeps its unnamed state.
 */
const titler = proxyActivities<SessionActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '2 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['MODEL_OUTPUT_INVALID', 'INVALID_CONFIG'] },
});

/**
 * Asks for a session title; never throws but for cancellation (a failure is logged and answered `undefined`, so the
 * conversation is never touched by it).
 */
export async function generateTitle(request: TitleRequest): Promise<TitleResult | undefined> {
  try {
    return await titler.generateTitle.executeWithOptions({ summary: `title by ${request.llm.model ?? request.llm.provider}` }, [request]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('session title failed; the session stays unnamed', { sessionId: request.sessionId, error: failureMessage(err) });
    return undefined;
  }
}

/**
 * Called with each finished provider call's usage: what it was for, the usage reported (undefined: none, e.g. a
 * result recorded before usage), the configured model and the one the provider reported.
 */
export type UsageReport = (purpose: UsagePurpose, usage: ProviderUsage | undefined, model: string | undefined, reportedModel: string | undefined) => void;

/** A `summarize` result as recorded: a bare string before token usage, an object since. */
function summaryOf(out: SummarizeResult | string): SummarizeResult {
  return typeof out === 'string' ? { summary: out } : out;
}

/** Workflow time as an ISO timestamp (deterministic). */
export const now = (): string => new Date().toISOString();

/** The message of an activity failure (its cause), for events and logs. */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * How a run calls its short activities: `regular` for sessions started since the `no-local-activities` patch (every
 * call a regular activity, eagerly dispatched to the asking worker when the server allows it), `local` for the runs
 * recorded before it, which replay as they ran (decisions as local activities since `decide-local-activity`,
 * rankings and archive calls as local activities).
 */
export type ActivityMode = 'local' | 'regular';

/**
 * The activities of `options` as local and as regular ones (both proxies made once, at module load: no commands),
 * picked by a run's {@link ActivityMode}.
 */
export function byActivityMode(
  options: LocalActivityOptions & ActivityOptions,
): (mode: ActivityMode) => ActivityInterfaceFor<SessionActivities> | LocalActivityInterfaceFor<SessionActivities> {
  const local = proxyLocalActivities<SessionActivities>(options);
  const regular = proxyActivities<SessionActivities>(options);
  return (mode) => (mode === 'regular' ? regular : local);
}

/**
 * The run's {@link ActivityMode}. Call it once, in the run's first activation, before the executors are built: the
 * patch marker's place in the history is part of the workflow's command sequence.
 */
export function activityMode(): ActivityMode {
  return patched(PATCH_IDS.noLocalActivities) ? 'regular' : 'local';
}

/**
 * Plays engine commands as activities (call-site `summary` is deep-merged over the proxy's options); failures become
 * engine inputs, never crashed turns. `mode` from {@link activityMode} (default `local`: histories recorded before it).
 */
export function activityExecutors(onUsage?: UsageReport, mode: ActivityMode = 'local'): Omit<TurnExecutors, 'onState'> {
  // Sessions started before `decide-local-activity` keep deciding through regular activities when they replay, and
  // sessions since `no-local-activities` decide through them again (that patch is asked first, so they never ask this one).
  const decider = mode === 'regular' ? llm : patched(PATCH_IDS.decideLocalActivity) ? llmLocal : llm;
  const rankCalls = ranker(mode);
  return {
    now,
    async decide(request): Promise<DecideOutcome> {
      try {
        const out = await decider.decide.executeWithOptions(
          { summary: `decide ${request.stepId} #${request.decisionIndex}` },
          [request],
        );
        onUsage?.('decide', out.usage, request.llm.model, out.model);
        return { type: 'decided', decision: out.decision };
      } catch (err) {
        if (isCancellation(err)) throw err;
        const cause = err instanceof ActivityFailure ? err.cause : undefined;
        if (cause instanceof ApplicationFailure && cause.type === 'MODEL_OUTPUT_INVALID') {
          return { type: 'decisionInvalid', message: cause.message };
        }
        log.warn('decide failed', { error: failureMessage(err) });
        return { type: 'decideFailed', message: failureMessage(err) };
      }
    },
    async runTools(calls): Promise<ToolCallResult[]> {
      return Promise.all(
        calls.map(async (call): Promise<ToolCallResult> => {
          try {
            return await tools.runTool.executeWithOptions({ summary: `tool ${call.tool} ${call.callId}` }, [call]);
          } catch (err) {
            if (isCancellation(err)) throw err;
            return { callId: call.callId, tool: call.tool, ok: false, error: failureMessage(err) };
          }
        }),
      );
    },
    async rank(request): Promise<RankOutcome> {
      try {
        const out = await rankCalls.rank.executeWithOptions({ summary: `rank ${request.candidates.length} by ${request.llm.model}` }, [request]);
        onUsage?.('rank', out.usage, request.llm.model, out.model);
        return { type: 'ranked', scores: out.scores };
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('rank failed, using BM25', { error: failureMessage(err) });
        return { type: 'rankFailed', message: failureMessage(err) };
      }
    },
    async summarize(request): Promise<SummarizeOutcome> {
      try {
        const out = summaryOf(
          await llm.summarize.executeWithOptions({ summary: `summarize ${request.purpose} ${request.flowId}` }, [request]),
        );
        onUsage?.('summarize', out.usage, request.llm.summary?.model ?? request.llm.model, out.model);
        return { type: 'summarized', summary: out.summary };
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The engine goes on with an extractive summary (semantics ≥ 3 also records a `summary_failed` event).
        log.warn('summarize failed, using an extractive summary', { purpose: request.purpose, flowId: request.flowId, error: failureMessage(err) });
        return { type: 'summarizeFailed', message: failureMessage(err) };
      }
    },
  };
}
