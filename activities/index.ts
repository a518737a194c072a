/**
 * Session activities, built by a factory with injected dependencies (STYLE.md 7):
 * `createActivities({ models, tools, archive })`. Workflows use `proxyActivities<SessionActivities>`.
 *
 * - `decide`: one LLM decision. Heartbeats while the model works so a dead worker is noticed in seconds.
 * - `runTool`: one tool call. Tool misbehaviour comes back as `{ ok: false }`; only a tool missing on this worker
 *   fails the activity (non-retryable `TOOL_NOT_FOUND`).
 * - `summarize`: a flow-memory summary (with the llm's `summary` overrides), and its usage.
 * - `generateTitle`: a session title after the first exchange (sessions with `session_title`).
 * - `rank`: cosine similarities of candidate texts to a query through the provider's embeddings API (./embeddings.ts).
 * - `archiveTurn` / `archiveSessionEnd`: idempotent writes to the archive; no-ops when the archive is off.
 *
 * Failures are Temporal `ApplicationFailure`s with stable `type`s (see activities/models/errors.ts); retries belong to
 * the workflow's RetryPolicy (workflows/session.ts), never to vendor SDKs.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { AgentSnapshot } from '../src/config/agent.js';
import { summaryLlm } from '../src/config/summary-llm.js';
import type { TitleRequest, TitleResult } from '../src/engine/title.js';
import { isStepwiseError } from '../src/errors.js';
import type {
  ArchiveRewindInput,
  ArchiveSessionEndInput,
  ArchiveSessionInfoInput,
  ArchiveSessionStartInput,
  ArchiveTurnInput,
  DecideRequest,
  DecideResult,
  LoadTurnStateInput,
  RankRequest,
  RankResult,
  SessionActivities,
  SessionEvent,
  SummarizeRequest,
  SummarizeResult,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from '../src/engine/types.js';
import type { ArchiveStore } from '../src/archive/store.js';
import { hasTimeTravel } from '../src/archive/time-travel.js';
import { Embeddings } from './embeddings.js';
import { resolveFiles, StoredFileCache } from './models/attachments.js';
import type { ModelCache } from './models/model.js';
import type { ToolRegistry } from './tools.js';

/** Dependencies of the activities. */
export interface ActivityDeps {
  models: ModelCache;
  /** Tool registries by agent name. */
  tools: Map<string, ToolRegistry>;
  /** Archive store; `undefined` turns archiving off. */
  archive?: ArchiveStore;
  /** Embeddings client with the worker's vector cache. Default: one reading keys where `models` does. */
  embeddings?: Embeddings;
  /** Publishes live, non-durable events (streamed model tokens). Optional, best effort. */
  publishToken?: (sessionId: string, text: string) => void;
  /** Stored files read for prompts, kept for the next decisions. Default: one of `DEFAULT_FILE_CACHE_CHARS`. */
  files?: StoredFileCache;
}

/** Time between two heartbeats of a running activity, in ms: a third of the 1.5 s heartbeat timeout (workflows/activity-executors.ts). */
const HEARTBEAT_INTERVAL_MS = 500;

/**
 * Heartbeats every `intervalMs` (default {@link HEARTBEAT_INTERVAL_MS}) until the returned function is called. The
 * workflow's heartbeat timeout is 1.5 s, so a dead worker is noticed within seconds; the SDK sends at most one heartbeat
 * per `maxHeartbeatThrottleInterval` (500 ms, workers/recovery.ts) to the server.
 *
 * On a retried attempt it also calls {@link leaveStickyWorker} first. Outside an activity and in local activities it
 * does nothing.
 */
function keepHeartbeating(intervalMs = HEARTBEAT_INTERVAL_MS): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined; // called outside an activity (tests, `stepwise chat`)
  }
  // Local activities (`decide` in new sessions) have no heartbeats: the worker's workflow task covers them, and the
  // server would answer each one with "UnknownActivity".
  if (ctx.info.isLocal) return () => undefined;
  if (ctx.info.attempt > 1) leaveStickyWorker(ctx);
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  return () => clearInterval(timer);
}

/**
 * Clears the stickiness of the workflow that scheduled this retried activity (Temporal's `ResetStickyTaskQueue`), so
 * the workflow task that follows the attempt goes to the shared task queue at once. Without it, the task goes to the
 * sticky queue of the worker that ran the workflow's last task, and when that worker is dead (the usual reason for a
 * retry: its heartbeats stopped) it waits out `stickyQueueScheduleToStartTimeout` there (1 s, workers/recovery.ts)
 * before another worker gets it. Measured with `npm run bench:crash` (docs/durable-sessions.md).
 *
 * The price, when the sticky worker is alive (the attempt failed for another reason): its next workflow task is
 * replayed from history by whichever worker takes it, once per retry. Nothing about the workflow's history changes.
 * Best effort: the call is not awaited (the attempt takes far longer than this one RPC, whose effect is needed only
 * when the attempt completes); a failure is logged as a warning and costs only that wait. Never throws.
 */
function leaveStickyWorker(ctx: Context): void {
  const execution = ctx.info.workflowExecution;
  if (!execution) return; // a standalone activity: no workflow to leave
  let reset: Promise<unknown>;
  try {
    reset = ctx.client.workflowService.resetStickyTaskQueue({ namespace: ctx.info.workflowNamespace, execution });
  } catch (err) {
    reset = Promise.reject(err); // no client (a MockActivityEnvironment without one)
  }
  reset.catch((err: unknown) => ctx.log.warn('could not reset the sticky task queue of a retried activity', { workflowId: execution.workflowId, error: err instanceof Error ? err.message : String(err) }));
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/**
 * Runs an archive write, mapping store errors to Temporal failures: `ARCHIVE_UNAVAILABLE` is retryable (the database
 * may come back), every other code is non-retryable with the code as its `type` (retrying the same input fails again).
 */
async function archiveCall(fn: () => Promise<void> | undefined): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isStepwiseError(err)) throw err;
    throw ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: err.code !== 'ARCHIVE_UNAVAILABLE' });
  }
}

/**
 * The error to throw for `err` from a model or tool call: when the activity was cancelled (worker shutting down past
 * its grace time, heartbeat-reported cancellation), the SDK's abort error is the *consequence*: report the
 * cancellation itself (a `CancelledFailure`), not a retryable MODEL_REQUEST_FAILED that would look like a provider
 * failure in the history and in metrics.
 */
function cancellationOr(err: unknown): unknown {
  const signal = cancellationSignal();
  if (!signal?.aborted) return err;
  return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure(`activity cancelled: ${String(signal.reason ?? 'no reason')}`);
}

/** Builds the activity functions. */
export function createActivities(deps: ActivityDeps): SessionActivities {
  const embeddings = deps.embeddings ?? new Embeddings({ env: deps.models.env });
  const fileCache = deps.files ?? new StoredFileCache();
  return {
    /**
     * One LLM decision, with the prompt's files resolved from the archive or their URLs.
     * @throws ApplicationFailure `MODEL_OUTPUT_INVALID` (non-retryable), `MODEL_REQUEST_FAILED`, and as `resolveFiles`
     *   (`FILES_NOT_SUPPORTED`, `NOT_FOUND`, `FILE_STORAGE_UNAVAILABLE` non-retryable; `ARCHIVE_UNAVAILABLE` retryable).
     */
    async decide(req: DecideRequest): Promise<DecideResult> {
      const stop = keepHeartbeating();
      try {
        const model = deps.models.get(req.llm);
        const onToken = deps.publishToken ? (t: string) => deps.publishToken!(req.sessionId, t) : undefined;
        // Files are read here, per attempt, and never leave the activity (./models/attachments.ts).
        const files = await resolveFiles(req.messages, req.llm, req.sessionId, deps.archive, fileCache);
        return await model.decide(req, { signal: cancellationSignal(), onToken, files });
      } catch (err) {
        throw cancellationOr(err);
      } finally {
        stop();
      }
    },

    /** One tool call. @throws ApplicationFailure `TOOL_NOT_FOUND` (non-retryable) if this worker lacks the tool. */
    async runTool(req: ToolCallRequest): Promise<ToolCallResult> {
      const registry = deps.tools.get(req.agentName);
      if (!registry) {
        throw ApplicationFailure.nonRetryable(`agent ${req.agentName} is not loaded on this worker`, 'TOOL_NOT_FOUND');
      }
      const stop = keepHeartbeating();
      try {
        // The registry rethrows the cancellation when a tool stops on its abort signal (tools.ts).
        return await registry.run(req, cancellationSignal() ?? new AbortController().signal);
      } finally {
        stop();
      }
    },

    /**
     * A flow-memory summary, made with `req.llm`'s `summary` overrides applied (model, temperature, max tokens,
     * kwargs), and the call's usage. @throws ApplicationFailure `MODEL_REQUEST_FAILED`, `MODEL_OUTPUT_INVALID`.
     */
    async summarize(req: SummarizeRequest): Promise<SummarizeResult> {
      const stop = keepHeartbeating();
      try {
        const llm = summaryLlm(req.llm);
        return await deps.models.get(llm).summarize({ ...req, llm }, { signal: cancellationSignal() });
      } catch (err) {
        throw cancellationOr(err);
      } finally {
        stop();
      }
    },

    /**
     * A title for the session's first exchange (at most `req.maxChars` characters) and the call's usage.
     * @throws ApplicationFailure `MODEL_REQUEST_FAILED` (retryable or not, as for decisions), `MODEL_OUTPUT_INVALID`
     *   (non-retryable: an empty title), `INVALID_CONFIG`. The workflow never lets a failure touch the conversation.
     */
    async generateTitle(req: TitleRequest): Promise<TitleResult> {
      const stop = keepHeartbeating();
      try {
        return await deps.models.get(req.llm).title(req, { signal: cancellationSignal() });
      } catch (err) {
        throw cancellationOr(err);
      } finally {
        stop();
      }
    },

    /**
     * Cosine similarity of each candidate to the query by embeddings (scores, not vectors). Vectors are cached in this
     * worker. @throws ApplicationFailure as `Embeddings.rank` (non-retryable for a provider without embeddings, a
     * missing key or a 4xx; retryable for 429/5xx/network).
     */
    async rank(req: RankRequest): Promise<RankResult> {
      try {
        return await embeddings.rank(req, cancellationSignal());
      } catch (err) {
        throw cancellationOr(err);
      }
    },

    /**
     * Records the session row. Idempotent. Tells whether this worker has an archive (`off`: none configured), so a
     * session started without one makes no archive calls at all (no history events for them).
     */
    async archiveSessionStart(input: ArchiveSessionStartInput): Promise<{ archive: 'on' | 'off' }> {
      if (!deps.archive) return { archive: 'off' };
      await archiveCall(() => deps.archive?.recordSessionStart(input));
      return { archive: 'on' };
    },

    /** Records a changed session name or metadata (`PATCH /sessions/:id`). Idempotent; no-op when the archive is off. */
    async archiveSessionInfo(input: ArchiveSessionInfoInput): Promise<void> {
      await archiveCall(() => deps.archive?.updateSessionInfo(input));
    },

    /** Archives one finished turn. Idempotent (unique keys + upsert); no-op when the archive is off. */
    async archiveTurn(input: ArchiveTurnInput): Promise<void> {
      await archiveCall(() => deps.archive?.recordTurn(input));
    },

    /** Marks the session ended in the archive. Idempotent; no-op when the archive is off. */
    async archiveSessionEnd(input: ArchiveSessionEndInput): Promise<void> {
      await archiveCall(() => deps.archive?.recordSessionEnd(input));
    },

    /** Moves the turns a rewind superseded to their branch (docs/time-travel.md). Idempotent; no-op without an archive. */
    async archiveRewind(input: ArchiveRewindInput): Promise<void> {
      const store = deps.archive;
      if (hasTimeTravel(store)) await archiveCall(() => store.supersedeTurns(input));
    },

    /**
     * The archived snapshot after a turn (`{state}`, its exact JSON text), or null when the archive has none (or
     * there is no archive, or it cannot time travel). ARCHIVE_UNAVAILABLE is retryable.
     */
    async loadTurnState(input: LoadTurnStateInput): Promise<{ state: string } | null> {
      const store = deps.archive;
      if (!hasTimeTravel(store)) return null;
      let found: { state: string } | null = null;
      await archiveCall(async () => {
        const record = await store.getTurnState(input.sessionId, input.turn);
        found = record ? { state: record.state } : null;
      });
      return found;
    },
  };
}

/** The activity functions, as the workflow sees them. */

/** Snapshot-to-registry map helper for workers. */
export function toolMap(agents: Array<{ snapshot: AgentSnapshot; tools: ToolRegistry }>): Map<string, ToolRegistry> {
  return new Map(agents.map((a) => [a.snapshot.name, a.tools]));
}
