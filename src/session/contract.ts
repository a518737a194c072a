/**
 * The session contract: ids, session info, the workflow's input and the payloads of its messages (update, signal and
 * query arguments and replies), as zod schemas with their types under the same names (STYLE.md 3).
 *
 * Pure: no Temporal SDK. The message definitions themselves (`defineUpdate`, ...) live in `workflows/shared.ts`, which
 * re-exports this module so hosts import one module; the archive and other pure code import this one directly.
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { AgentSnapshot } from '../config/agent.js';
import { FileRefs } from '../engine/files.js';
import { SessionSeed } from '../engine/seed.js';
import { jsonBytes } from '../engine/state.js';
import { ApprovalDecision, PendingApproval, SessionEvent, SessionState, SessionStatus, TurnResult } from '../engine/types.js';
import { TokenUsage } from '../engine/usage.js';

/** Default task queue; override with `STEPWISE_TASK_QUEUE`. */
export const DEFAULT_TASK_QUEUE = 'stepwise';

/** Name of the session workflow type (the exported function in `./session.ts`). */
export const SESSION_WORKFLOW_TYPE = 'sessionWorkflow';

/**
 * Failure type of a `sendMessage` update refused because the run is about to continue as new. Never reaches history
 * (validator rejection); clients send the same message again after a short pause and reach the next run.
 */
export const SESSION_CONTINUING = 'SESSION_CONTINUING';

/**
 * Every `patched()` id the session workflow uses, one per replay-affecting change (docs/contributing.md "Keeping running sessions compatible").
 * Patch ids are written to history in clear text as Temporal markers, even with a payload codec.
 */
export const PATCH_IDS = {
  /** One idle timer per continue-as-new period. */
  idleTimerPerPeriod: 'idle-timer-per-period',
  /**
   * The idle timer set up in the run's first activation, before the archive start: its patch marker can no longer
   * interleave with an update accepted in the same workflow task.
   */
  idleTimerFirst: 'idle-timer-first',
  /** `decide` as a local activity. */
  decideLocalActivity: 'decide-local-activity',
  /**
   * The activity executors (and so the `decide-local-activity` marker) set up in the run's first activation, before
   * the archive start: after it, the marker could fall into the next workflow task and replay failed on it.
   */
  executorsFirst: 'executors-first',
  /** NOMOS flow semantics (engine semantics 2) for new sessions. */
  nomosSemantics: 'nomos-semantics',
  /**
   * NOMOS iteration rules (engine semantics 3: `max_iter`, tool errors in `max_errors`, same-tool retry, recorded
   * summary failures) for new sessions; asked before `nomos-semantics`, which new sessions then never reach.
   */
  nomosIterationRules: 'nomos-iteration-rules',
  /**
   * Embeddings ranking (`rank` local activity) for new sessions whose agent has an embeddings model; checked only for
   * such agents, so other sessions' histories carry no marker.
   */
  embeddingRetrieval: 'embedding-retrieval',
  /** Token usage summed per turn and per session (turn result, state, memo, carried across continue-as-new). */
  tokenUsage: 'token-usage',
  /**
   * A generated title after the first exchange (`generateTitle` activity); checked only for agents with
   * `session_title`, so other sessions' histories carry no marker.
   */
  sessionTitle: 'session-title',
  /** Time travel: the first `rewind` a session applies (docs/time-travel.md); absent from every older history. */
  timeTravel: 'time-travel',
  /**
   * No local activities: decisions, embeddings ranking, archive writes and archive reads run as regular activities
   * (eagerly dispatched to the worker that asked for them) for sessions started since. A local activity's result can
   * reach the workflow one workflow task after its marker was recorded while updates and queries arrive; replay then
   * resolves it a task earlier, the workflow's next commands come before the update accepted in between, and the
   * session is stuck on a nondeterminism error (docs/chaos.md, found by `npm run chaos`). Asked in the run's first
   * activation, before `executors-first`; sessions started since never ask `decide-local-activity`.
   */
  noLocalActivities: 'no-local-activities',
  /**
   * Update responses after the other commands of each activation (workflows/command-order.ts): a workflow task whose
   * activity result and update the SDK core handed over in two activations replays the same (docs/chaos.md, found by
   * `npm run chaos`). Asked first thing in the run's first activation.
   */
  updateResponsesLast: 'update-responses-last',
  /**
   * Since it, the completions of updates accepted in earlier activations also go before the responses to the updates
   * an activation received (workflows/command-order.ts `earlierCompletionsFirst`): the same two-activation split
   * reordered them (docs/chaos.md). Asked right after `update-responses-last`, only when that one is set.
   */
  updateCompletionsFirst: 'update-completions-first',
  /**
   * Writes kept for later (the archive was down) are retried on durable timers while the session waits for messages
   * (5 s, doubling to 5 min), not only before the session's next write (workflows/archive-writes.ts): the archive of a
   * session that went quiet during an outage catches up once it is back. Asked in the run's first activation.
   */
  archiveRetryWhileIdle: 'archive-retry-while-idle',
} as const;

/**
 * Message ids a session remembers (with their turn numbers) across continue-as-new, so a client retrying an old
 * message never runs a second turn: the last 2,000 messages (at most ~280 KB of carried state with 128-character
 * ids, ~90 KB with UUIDs). Full results are kept for the newest 20 (`getHistory`); older ones come from the archive.
 */
export const MAX_REMEMBERED_MESSAGE_IDS = 2_000;

/** Longest user message accepted, in characters (validated before it reaches history). */
export const MAX_MESSAGE_CHARS = 32_000;

/**
 * Most bytes of queued messages a session holds (UTF-8 JSON of the waiting messages, 256 KiB: eight messages of the
 * longest size, hundreds of usual ones). A `sendMessage` past it is refused (`QUEUE_FULL`, retryable: HTTP 429); a
 * `postMessage` signal past it is dropped and recorded as refused. Bounds `carried.pending` (see
 * {@link MAX_CONTINUE_AS_NEW_INPUT_BYTES}).
 */
export const MAX_QUEUED_MESSAGE_BYTES = 256 * 1024;

/** Failure type of a message refused because the session's queue is full ({@link MAX_QUEUED_MESSAGE_BYTES}). */
export const QUEUE_FULL = 'QUEUE_FULL';

/** Refused messages a session remembers for `getTurnResult` (the newest 200, carried across continue-as-new). */
export const MAX_REMEMBERED_REFUSALS = 200;

/**
 * Largest continue-as-new input, in UTF-8 bytes of its JSON (1.5 MiB): under Temporal's default 2 MiB payload limit
 * (`limit.blobSize.error`, https://docs.temporal.io/cloud/limits#per-message-grpc-limit), with room for a payload
 * codec's overhead. The parts are bounded one by one (agent snapshot at load, state, pending, unarchived writes,
 * remembered ids); a run whose whole input would still pass it sheds archive writes, then the oldest remembered ids,
 * before continuing (see `boundCarried` in `./carried.ts`).
 */
export const MAX_CONTINUE_AS_NEW_INPUT_BYTES = 1536 * 1024;

/**
 * Why a message the session accepted (or received as a signal) never got a turn: `SESSION_ENDED` (the session ended
 * first; HTTP 409) or `QUEUE_FULL` (a signal that found the queue full; HTTP 429, send again).
 */
export const MessageRefusal = lazySchema(() => z.object({ code: z.enum(['SESSION_ENDED', 'QUEUE_FULL']), message: z.string() }));
export type MessageRefusal = z.infer<typeof MessageRefusal>;

/** Session ids: 1-128 characters of letters, digits, `_`, `-`, `.`, `:`. */
export const SessionId = lazySchema(() => z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ - . : only (1-128 chars)'));

/**
 * Message id of the first message given to `POST /sessions` (reserved; message ids are scoped to their session, so
 * it does not repeat the session id and every valid session id works).
 */
export const FIRST_MESSAGE_ID = ':first';

/**
 * Message id of the opening turn of a session started with `initiate: true` (the agent speaks first; reserved like
 * {@link FIRST_MESSAGE_ID}).
 */
export const OPENING_MESSAGE_ID = ':opening';

/** Largest session metadata accepted, in UTF-8 bytes of its JSON (16 KiB): it rides in workflow input and state. */
export const MAX_SESSION_METADATA_BYTES = 16 * 1024;

/** Who the session is for: the caller's own user id (1-128 characters, opaque to Stepwise). */
export const SessionUserId = lazySchema(() => z.string().min(1).max(128));
/** A display name for the session (at most 200 characters). */
export const SessionName = lazySchema(() => z.string().max(200));
/** Free-form JSON object the caller attaches to a session (at most {@link MAX_SESSION_METADATA_BYTES} of JSON). */
export const SessionMetadata = lazySchema(() =>
  z
    .record(z.string(), z.unknown())
    .refine((m) => jsonBytes(m) <= MAX_SESSION_METADATA_BYTES, `metadata must be at most ${MAX_SESSION_METADATA_BYTES} bytes of JSON`),
);
export type SessionMetadata = z.infer<typeof SessionMetadata>;

/**
 * Who a session is for and what it is called: set at start (`POST /sessions`), `name` and `metadata` changed later
 * (`PATCH /sessions/:id`, the `updateSessionInfo` update). Shown in the session's state, memo and archive row.
 */
export const SessionInfo = lazySchema(() => z.object({
  userId: SessionUserId.optional(),
  name: SessionName.optional(),
  metadata: SessionMetadata.optional(),
  /** Set on a fork (`POST /sessions/:id/fork`): the session it was forked from, and after which of its turns. */
  parentSessionId: SessionId.optional(),
  forkedAtTurn: z.number().int().min(0).optional(),
}));
export type SessionInfo = z.infer<typeof SessionInfo>;

/** Memo fields of a session's info: user id and name (small; metadata stays out of the memo and search). */
export function infoMemo(info: SessionInfo | undefined): { userId?: string; name?: string } {
  return {
    ...(info?.userId !== undefined ? { userId: info.userId } : {}),
    ...(info?.name !== undefined ? { name: info.name } : {}),
  };
}

/** `updateSessionInfo` payload: the fields given replace the current ones (`metadata` as a whole); `userId` is fixed. */
export const SessionInfoPatch = lazySchema(() => z.strictObject({ name: SessionName.optional(), metadata: SessionMetadata.optional() }));
export type SessionInfoPatch = z.infer<typeof SessionInfoPatch>;

/** Message ids double as Temporal update ids: same rules as session ids. */
export const MessageId = lazySchema(() => z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ - . : only (1-128 chars)'));

/**
 * Search attributes a session sets (Keyword each), so sessions can be listed and filtered in the Temporal UI and with
 * `client.workflow.list({ query: "StepwiseAgent = 'barista' AND StepwiseStatus = 'active'" })`. `stepwise dev`
 * registers them on its dev server; on other clusters register them once with
 * `temporal operator search-attribute create --name StepwiseAgent --type Keyword` (and the same for the others).
 * Where they are not registered, sessions run without them.
 */
export const SEARCH_ATTRIBUTE_DEFINITIONS = { StepwiseAgent: 'Keyword', StepwiseStep: 'Keyword', StepwiseStatus: 'Keyword' } as const;

/** Workflow id of a session. */
export function sessionWorkflowId(sessionId: string): string {
  return `session-${sessionId}`;
}

/** Input of the session workflow. `carried` is set on continue-as-new (and absent for a new session). */
export const SessionWorkflowInput = lazySchema(() => z.object({
  sessionId: SessionId,
  agent: AgentSnapshot,
  /** Started by update-with-start with a first message (`POST /sessions` with `message`); default false. */
  firstMessage: z.boolean().optional(),
  /** The agent speaks first: the run begins with an opening turn (`OPENING_MESSAGE_ID`). Default false. */
  initiate: z.boolean().optional(),
  /** User id, name and metadata (current values, carried across continue-as-new). Absent in older sessions. */
  info: SessionInfo.optional(),
  /**
   * State a NEW session starts from instead of the start step with empty memory (NOMOS `POST /chat` with client-held
   * `session_data`, see `src/engine/seed.ts`), bounded by `boundSeed`. Read only by the first run (ignored when
   * `carried` is set, and not passed on by continue-as-new). Absent in every other session.
   */
  seed: SessionSeed.optional(),
  /**
   * A fork's start (docs/time-travel.md): the parent's snapshot after turn `info.forkedAtTurn` (JSON text, under the
   * fork's session id) and the message ids it had answered by then. Read only by the first run, like `seed`; absent
   * in every session that is not a fork.
   */
  fork: z.object({ state: z.string(), answered: z.array(z.tuple([z.string(), z.number().int()])) }).optional(),
  /** Previous run's state (see `loadSessionState`), plus messages that arrived but were not yet processed. */
  carried: z
    .object({
      state: z.unknown(),
      pending: z.array(z.object({ messageId: MessageId, text: z.string(), files: FileRefs.optional() })),
      /** Number of the run that continued as new (1 for the first). */
      run: z.number().int().min(1),
      /** `false` when the worker that started the session had no archive (no archive calls are made). Default true. */
      archive: z.boolean().optional(),
      /** `[messageId, turn]` of the newest answered messages (at most MAX_REMEMBERED_MESSAGE_IDS), oldest first. */
      answered: z.array(z.tuple([z.string(), z.number().int()])).optional(),
      /** Archive writes that failed (archive down) and are retried at the next write; oldest first. */
      unarchived: z.array(z.unknown()).optional(),
      /** `[messageId, refusal]` of the newest refused messages (at most MAX_REMEMBERED_REFUSALS), oldest first. */
      refused: z.array(z.tuple([z.string(), MessageRefusal])).optional(),
      /** The session's token usage so far (sessions since the `token-usage` patch). */
      usage: TokenUsage.optional(),
    })
    .optional(),
}));
export type SessionWorkflowInput = z.infer<typeof SessionWorkflowInput>;

/** A user message (the `sendMessage` update's and `postMessage` signal's argument). */
export const UserMessage = lazySchema(() => z.object({
  messageId: MessageId,
  text: z.string().trim().min(1, 'text must not be empty').max(MAX_MESSAGE_CHARS, `text must be at most ${MAX_MESSAGE_CHARS} characters`),
  /** Attachments: references to stored files or URLs, never their bytes (`src/engine/files.ts`). */
  files: FileRefs.optional(),
}));
export type UserMessage = z.infer<typeof UserMessage>;

/** Why a session ended. */
export const EndReason = lazySchema(() => z.enum(['end_action', 'idle_timeout', 'end_session']));

/** `getState` reply: where the session is. Small (no memory contents). */
export const SessionView = lazySchema(() => z.object({
  sessionId: z.string(),
  agentName: z.string(),
  configHash: z.string(),
  status: SessionStatus,
  stepId: z.string(),
  flowId: z.string().optional(),
  turns: z.number().int(),
  /** Turns waiting behind the current one. */
  queued: z.number().int(),
  busy: z.boolean(),
  /** Number of this workflow's run since the session began (1 = no continue-as-new yet). */
  run: z.number().int(),
  /** Set while an end was requested but not yet processed (new messages are refused). */
  ending: z.boolean().optional(),
  lastEventSeq: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** {@link SessionInfo}, when set. */
  userId: z.string().optional(),
  name: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** Set on a fork: the session it was forked from and after which of its turns. */
  parentSessionId: z.string().optional(),
  forkedAtTurn: z.number().int().optional(),
  /** Tool calls of the running turn waiting for a human decision (empty when none). */
  pendingApprovals: z.array(PendingApproval),
  /** Token usage of the whole session (every run); absent in sessions started before the `token-usage` patch. */
  usage: TokenUsage.optional(),
}));
export type SessionView = z.infer<typeof SessionView>;

/** `getHistory` reply: the turns this run still remembers (older turns: the archive). */
export const SessionHistory = lazySchema(() => z.object({ sessionId: z.string(), turns: z.array(TurnResult) }));
export type SessionHistory = z.infer<typeof SessionHistory>;

/** `getEvents` reply: events with `seq >= fromSeq` still held by the run; `firstSeq` tells what was dropped. */
export const EventsPage = lazySchema(() =>
  z.object({
    firstSeq: z.number().int(),
    nextSeq: z.number().int(),
    events: z.array(SessionEvent),
    ended: z.boolean(),
    /**
     * Whether the session is working on its own, so more events may come without anything from outside: a turn
     * running (not one waiting for a human decision), a message queued, or the run continuing as new. Live streams
     * poll a session that is not busy less often (api/live/event-hub.ts). Absent from workers before 2026-12-08: read
     * as busy.
     */
    busy: z.boolean().optional(),
  }),
);
export type EventsPage = z.infer<typeof EventsPage>;

/**
 * `getTurnResult(messageId)` reply: where a message is (`answered`: long ago, its result is in the archive;
 * `refused`: accepted or signalled, but it never got a turn, see {@link MessageRefusal}).
 */
export const TurnLookup = lazySchema(() => z.discriminatedUnion('status', [
  z.object({ status: z.literal('refused'), refusal: MessageRefusal }),
  z.object({ status: z.literal('done'), result: TurnResult }),
  z.object({ status: z.literal('running') }),
  z.object({ status: z.literal('queued') }),
  z.object({ status: z.literal('answered'), turn: z.number().int() }),
  z.object({ status: z.literal('unknown') }),
]));
export type TurnLookup = z.infer<typeof TurnLookup>;

/** Tool call ids (`t<turn>.<n>`): same character rules as message ids. */
export const CallId = lazySchema(() => z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ - . : only (1-128 chars)'));

/** Longest approval `reason`, in characters (it reaches the model as part of a tool error). */
export const MAX_APPROVAL_REASON_CHARS = 2_000;

/** A human's decision on a tool call waiting for approval (`decideApproval` update; REST body plus the call id). */
export const ApprovalRequest = lazySchema(() => z.object({
  callId: CallId,
  decision: ApprovalDecision,
  /** Why; shown to the model with a denial. */
  reason: z.string().max(MAX_APPROVAL_REASON_CHARS).optional(),
  /** Who decided (recorded in the `approval_decided` event and the archive). */
  approver: z.string().min(1).max(200).optional(),
}));
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** `decideApproval` reply: the decision as recorded, with the workflow's time of it. */
export const ApprovalReply = lazySchema(() => z.object({ callId: z.string(), decision: ApprovalDecision, decidedAt: z.string() }));
export type ApprovalReply = z.infer<typeof ApprovalReply>;

/**
 * `getApproval` reply: where a tool call's approval stands. `queued`: a decision was received and waits to be applied
 * (within the same workflow task, or the next); `decision` is there once it is queued or decided (as recorded, `at`
 * the workflow's time of it when decided).
 */
export interface ApprovalLookup {
  status: 'pending' | 'queued' | 'decided' | 'unknown';
  decision?: { decision: ApprovalDecision; approver?: string; reason?: string; timedOut: boolean; at?: string };
}
