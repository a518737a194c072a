/**
 * Session activities, built by a factory with injected dependencies (STYLE.md 7):
 * `createActivities({ models, tools, archive })`. Workflows use `proxyActivities<SessionActivities>`.
 *
 * - `decide`: one LLM decision. Heartbeats while the model works so a dead worker is noticed in seconds.
 * - `runTool`: one tool call. Tool misbehaviour comes back as `{ ok: false }`; only a tool missing on this worker
 *   fails the activity (non-retryable `TOOL_NOT_FOUND`).
 * - `summarize`: a flow-memory summary.
 * - `rank`: cosine similarities of candidate texts to a query through the provider's embeddings API (./embeddings.ts).
 * - `archiveTurn` / `archiveSessionEnd`: idempotent writes to the archive; no-ops when the archive is off.
 *
 * Failures are Temporal `ApplicationFailure`s with stable `type`s (see activities/models/errors.ts); retries belong to
 * the workflow's RetryPolicy (workflows/session.ts), never to vendor SDKs.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { AgentSnapshot } from '../src/config/agent.js';
import { isStepwiseError } from '../src/errors.js';
import type {
  DecideRequest,
  DecideResult,
  RankRequest,
  RankResult,
  SessionEvent,
  SummarizeRequest,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from '../src/engine/types.js';
import type { ArchiveStore } from '../archive/store.js';
import { hasTimeTravel } from '../archive/time-travel.js';
import { Embeddings } from './embeddings.js';
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
}

/** Input of `archiveTurn`. */
export interface ArchiveTurnInput {
  sessionId: string;
  agentName: string;
  configHash: string;
  run: number;
  startedAt: string;
  finishedAt: string;
  turn: TurnResult;
  /** The run's workflow run id: a turn written again by another run (a Temporal reset) supersedes the later turns. */
  runId?: string;
  /** The session state after the turn, its exact JSON text (time travel's snapshot; docs/time-travel.md). */
  state?: string;
}

/** Input of `archiveRewind`: turns after `toTurn` become branch `branch`; `event` is the session's `rewound` event. */
export interface ArchiveRewindInput {
  sessionId: string;
  toTurn: number;
  branch: string;
  reason: 'rewind' | 'reset';
  at: string;
  event: SessionEvent;
}

/** Input of `loadTurnState`. */
export interface LoadTurnStateInput {
  sessionId: string;
  turn: number;
}

/** Input of `archiveSessionEnd`. */
export interface ArchiveSessionEndInput {
  sessionId: string;
  agentName: string;
  configHash: string;
  status: 'ended' | 'failed';
  reason: string;
  at: string;
  events: SessionEvent[];
}

/** Input of `archiveSessionStart`. `userId`, `name`, `metadata`: the session's info (absent in older sessions). */
export interface ArchiveSessionStartInput {
  sessionId: string;
  agentName: string;
  configHash: string;
  createdAt: string;
  userId?: string;
  name?: string;
  metadata?: Record<string, unknown>;
  parentSessionId?: string;
  forkedAtTurn?: number;
  /** The session's starting state, exact JSON text: the snapshot of turn `state.counters.turns` (0, or a fork's). */
  state?: string;
}

/** Input of `archiveSessionInfo`: the fields given replace the archived ones (`metadata` as a whole). */
export interface ArchiveSessionInfoInput {
  sessionId: string;
  name?: string;
  metadata?: Record<string, unknown>;
}

/**
 * Heartbeats every `intervalMs` (default 1 s) until the returned function is called. The workflow's heartbeat timeout
 * is 3 s, so a dead worker is noticed within seconds; the SDK throttles what it sends to the server (at most one
 * heartbeat per 80% of the timeout), so beating often costs no extra RPCs.
 */
function keepHeartbeating(intervalMs = 1_000): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined; // called outside an activity (tests, `stepwise chat`)
  }
  // Local activities (`decide` in new sessions) have no heartbeats: the worker's workflow task covers them, and the
  // server would answer each one with "UnknownActivity".
  if (ctx.info.isLocal) return () => undefined;
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  return () => clearInterval(timer);
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
export function createActivities(deps: ActivityDeps) {
  const embeddings = deps.embeddings ?? new Embeddings({ env: deps.models.env });
  return {
    /** One LLM decision. @throws ApplicationFailure `MODEL_OUTPUT_INVALID` (non-retryable), `MODEL_REQUEST_FAILED`. */
    async decide(req: DecideRequest): Promise<DecideResult> {
      const stop = keepHeartbeating();
      try {
        const model = deps.models.get(req.llm);
        const onToken = deps.publishToken ? (t: string) => deps.publishToken!(req.sessionId, t) : undefined;
        return await model.decide(req, { signal: cancellationSignal(), onToken });
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

    /** A flow-memory summary. @throws ApplicationFailure `MODEL_REQUEST_FAILED`. */
    async summarize(req: SummarizeRequest): Promise<string> {
      const stop = keepHeartbeating();
      try {
        return await deps.models.get(req.llm).summarize(req, { signal: cancellationSignal() });
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
export type SessionActivities = ReturnType<typeof createActivities>;

/** Snapshot-to-registry map helper for workers. */
export function toolMap(agents: Array<{ snapshot: AgentSnapshot; tools: ToolRegistry }>): Map<string, ToolRegistry> {
  return new Map(agents.map((a) => [a.snapshot.name, a.tools]));
}
