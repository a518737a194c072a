/**
 * The activity protocol: the input and output of every activity a session workflow calls, and the
 * {@link SessionActivities} interface that `activities/` implements (`createActivities`) and workflows proxy
 * (`proxyActivities<SessionActivities>`), so that neither side imports the other.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { JsonSchema, LlmConfig } from '../../config/agent.js';
import { type TitleRequest, type TitleResult } from '../title.js';
import { ProviderUsage } from '../usage.js';
import { FileRefs } from '../files.js';
import { MemoryItem } from './common.js';
import type { SessionEvent, TurnResult } from './events.js';


/** One prompt message; a user message's `files` are references the `decide` activity resolves (never bytes). */
export const ChatMessage = lazySchema(() =>
  z.object({
    role: z.enum(['system', 'user', 'assistant']), content: z.string(),
    files: FileRefs.optional(),
  }),
);
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Input of the `decide` activity: a bounded prompt and the step's decision schema. */
export const DecideRequest = lazySchema(() => z.object({
  sessionId: z.string(),
  agentName: z.string(),
  stepId: z.string(),
  llm: LlmConfig,
  messages: z.array(ChatMessage),
  schema: JsonSchema,
  /** Decisions already asked for in this session: the scripted model's position in its script. */
  decisionIndex: z.number().int().min(0),
  forceRespond: z.boolean(),
}));
export type DecideRequest = z.infer<typeof DecideRequest>;

/** Output of `decide`: the parsed (not yet validated) decision JSON. */
export const DecideResult = lazySchema(() => z.object({
  decision: z.unknown(),
  model: z.string().optional(),
  usage: ProviderUsage.optional(),
}));
export type DecideResult = z.infer<typeof DecideResult>;

/** Input of `runTool`: one call. */
export const ToolCallRequest = lazySchema(() => z.object({
  sessionId: z.string(),
  agentName: z.string(),
  stepId: z.string(),
  callId: z.string(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
}));
export type ToolCallRequest = z.infer<typeof ToolCallRequest>;

/** Output of `runTool`: a result, or an error the model sees (bad arguments, a throwing tool). */
export const ToolCallResult = lazySchema(() => z.discriminatedUnion('ok', [
  z.object({ callId: z.string(), tool: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    callId: z.string(),
    tool: z.string(),
    ok: z.literal(false),
    error: z.string(),
    /** The arguments failed the tool's schema (`execute` never ran). Absent in results recorded before it existed. */
    invalidArguments: z.literal(true).optional(),
  }),
]));
export type ToolCallResult = z.infer<typeof ToolCallResult>;

/** Input of `summarize`: bounded items and the previous summary. Output: one summary string. */
export const SummarizeRequest = lazySchema(() => z.object({
  sessionId: z.string(),
  llm: LlmConfig,
  purpose: z.enum(['flow_enter', 'flow_exit']),
  flowId: z.string(),
  previousSummaries: z.array(z.string()),
  items: z.array(MemoryItem),
  /** Longest summary wanted, in characters. */
  maxChars: z.number().int().positive(),
}));
export type SummarizeRequest = z.infer<typeof SummarizeRequest>;

/**
 * Output of `summarize` (workers since token usage): the summary with the call's usage. Histories recorded before
 * hold a bare string, which the workflow still reads.
 */
export const SummarizeResult = lazySchema(() => z.object({ summary: z.string(), model: z.string().optional(), usage: ProviderUsage.optional() }));
export type SummarizeResult = z.infer<typeof SummarizeResult>;

/** Candidates one `rank` asks about at most: 64 (48 older memory items, the newest, then 16 dynamic examples). */
export const MAX_RANK_CANDIDATES = 64;
/** Older memory items ranked at most (the newest ones; older still are not retrievable by embeddings). */
export const MAX_RANK_MEMORY_ITEMS = 48;
/** Dynamic examples ranked at most (the first in config order). */
export const MAX_RANK_EXAMPLES = 16;
/**
 * Characters of the query and of each candidate sent to be embedded: 1,000 (~250 tokens; far below any embeddings
 * model's input limit, e.g. 8,191 tokens for OpenAI's). So one `rank` input stays under ~70 KB of history.
 */
export const RANK_TEXT_CHARS = 1_000;

/**
 * Input of `rank`: similarity of each candidate text to the query, by the embeddings model `llm` (`llm.model` is the
 * embeddings model's name). Texts are clipped to {@link RANK_TEXT_CHARS}, at most {@link MAX_RANK_CANDIDATES}.
 */
export const RankRequest = lazySchema(() => z.object({
  sessionId: z.string(),
  llm: LlmConfig,
  query: z.string().max(RANK_TEXT_CHARS),
  candidates: z.array(z.string().max(RANK_TEXT_CHARS)).min(1).max(MAX_RANK_CANDIDATES),
}));
export type RankRequest = z.infer<typeof RankRequest>;

/** Output of `rank`: cosine similarity (-1..1) of each candidate to the query, in candidate order. No vectors. */
export const RankResult = lazySchema(() => z.object({ scores: z.array(z.number()), model: z.string().optional(), usage: ProviderUsage.optional() }));
export type RankResult = z.infer<typeof RankResult>;

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
 * The activities of a session workflow (implemented by `createActivities` in `activities/index.ts`). Failures are
 * Temporal `ApplicationFailure`s with stable `type`s; retries belong to the workflow's RetryPolicy.
 */
export interface SessionActivities {
  /** One LLM decision. */
  decide(req: DecideRequest): Promise<DecideResult>;
  /** One tool call; tool misbehaviour comes back as `{ ok: false }`. */
  runTool(req: ToolCallRequest): Promise<ToolCallResult>;
  /** A flow-memory summary, with the call's usage (workers before token usage answered a bare string). */
  summarize(req: SummarizeRequest): Promise<SummarizeResult>;
  /** A short session title after the first exchange (agents with `session_title`). */
  generateTitle(req: TitleRequest): Promise<TitleResult>;
  /** Cosine similarities of candidate texts to a query (embeddings). */
  rank(req: RankRequest): Promise<RankResult>;
  /** Idempotent archive writes: no-ops (and `archive: 'off'`) when the worker has no archive. */
  archiveSessionStart(input: ArchiveSessionStartInput): Promise<{ archive: 'on' | 'off' }>;
  archiveSessionInfo(input: ArchiveSessionInfoInput): Promise<void>;
  archiveTurn(input: ArchiveTurnInput): Promise<void>;
  archiveSessionEnd(input: ArchiveSessionEndInput): Promise<void>;
  /** Time travel: the turns after `toTurn` become a superseded branch (no-op without an archive that can). */
  archiveRewind(input: ArchiveRewindInput): Promise<void>;
  /** Time travel: the archived snapshot after a turn (its exact JSON text), or null when there is none. */
  loadTurnState(input: LoadTurnStateInput): Promise<{ state: string } | null>;
}
