/**
 * Time travel for every API surface (docs/time-travel.md): fork, rewind, regenerate and edit, over the session
 * backend's `rewind` / `turnState` / `startFork` and the archive's snapshots.
 *
 * Where a past turn's state comes from: the live (or closed) workflow's run when it still holds that turn's snapshot
 * (`getTurnState`), else the archive's snapshot written with the turn. Without either: 409 TURN_STATE_UNAVAILABLE.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hasTimeTravel } from '../src/archive/time-travel.js';
import { forkState, type RewindReply } from '../src/engine/rewind.js';
import { loadSessionState } from '../src/engine/state.js';
import type { TurnResult } from '../src/engine/types.js';
import { CallerError, isStepwiseError, SystemError } from '../src/errors.js';
import { type SessionInfo, type UserMessage, UserMessage as UserMessageSchema } from '../workflows/shared.js';
import { callerSessionInfo } from './auth/user-binding.js';
import { historyTurnOf, type SessionHistoryReply, type SessionStateReply } from './routes/archive.js';
import { sessionState } from './session-reads.js';
import type { SessionBackend } from './sessions.js';

function timeTravelBackend(app: FastifyInstance): Required<Pick<SessionBackend, 'rewind' | 'turnState' | 'startFork'>> & SessionBackend {
  const b = app.backend;
  if (!b.rewind || !b.turnState || !b.startFork) {
    throw new CallerError('REWIND_NOT_SUPPORTED', 'this session backend has no time travel (rewind, turnState, startFork)');
  }
  return b as Required<Pick<SessionBackend, 'rewind' | 'turnState' | 'startFork'>> & SessionBackend;
}

/**
 * The snapshot after turn `turn` of session `sessionId` (JSON text) and the message ids answered by then: from the
 * workflow when its run holds it, else from the archive.
 * @throws CallerError TURN_NOT_FOUND (the session never reached it), TURN_STATE_UNAVAILABLE (held by neither);
 *   backend and archive errors (SESSION_NOT_FOUND, TEMPORAL_UNAVAILABLE, ARCHIVE_UNAVAILABLE: retryable).
 */
export async function turnSnapshot(
  app: FastifyInstance,
  sessionId: string,
  turn: number,
  turns: number,
): Promise<{ state: string; answered: Array<[string, number]>; source: 'live' | 'archive' }> {
  if (turn > turns) throw new CallerError('TURN_NOT_FOUND', `session ${sessionId} has ${turns} turns; there is no turn ${turn}`, { turns });
  const backend = timeTravelBackend(app);
  let liveError: unknown;
  try {
    const held = await backend.turnState(sessionId, turn);
    if (held.status === 'held') return { state: held.state, answered: held.answered, source: 'live' };
  } catch (err) {
    if (!isStepwiseError(err) || !['SESSION_NOT_FOUND', 'TEMPORAL_UNAVAILABLE'].includes(err.code)) throw err;
    liveError = err;
  }
  const archive = app.archive;
  if (hasTimeTravel(archive)) {
    const found = await archive.getTurnState(sessionId, turn);
    if (found) return { state: found.state, answered: found.answered, source: 'archive' };
  } else if (liveError) {
    throw liveError;
  }
  throw new CallerError(
    'TURN_STATE_UNAVAILABLE',
    archive
      ? `neither the live session nor the archive holds the state after turn ${turn} of session ${sessionId}`
      : `the live session no longer holds the state after turn ${turn} of session ${sessionId} (only its current run's newest turns), and this API has no archive (DATABASE_URL)`,
    { turn },
  );
}

/** `POST /sessions/:sessionId/fork` body fields. */
export interface ForkRequest {
  atTurn: number;
  sessionId?: string;
  name?: string;
}

/**
 * Forks session `parentId` after turn `atTurn` into a new session owned by the caller (their user id; an unbound
 * caller's fork keeps the parent's), pinned to the same agent, and returns the fork's state.
 * @throws CallerError TURN_NOT_FOUND, TURN_STATE_UNAVAILABLE (also when the agent loaded here is no longer the
 *   parent's config), AGENT_NOT_FOUND, SESSION_EXISTS (`sessionId` taken), REWIND_NOT_SUPPORTED (a backend without time travel).
 */
export async function forkSession(app: FastifyInstance, request: FastifyRequest, parentId: string, body: ForkRequest, newId: string): Promise<SessionStateReply> {
  const parent = await sessionState(app, parentId, request.log);
  const snapshot = await turnSnapshot(app, parentId, body.atTurn, parent.turns);
  const agent = app.agents.get(parent.agentName);
  if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${parent.agentName} of session ${parentId} is not loaded by this API`);
  if (agent.configHash !== parent.configHash) {
    throw new CallerError(
      'TURN_STATE_UNAVAILABLE',
      `session ${parentId} runs agent ${agent.name} config ${parent.configHash}; this API loads config ${agent.configHash}, which its state may not fit`,
      { parentConfigHash: parent.configHash, loadedConfigHash: agent.configHash },
    );
  }
  const state = JSON.stringify(forkState(loadSessionState(JSON.parse(snapshot.state)), newId));
  const userId = callerSessionInfo(request).userId ?? parent.userId;
  const name = body.name ?? (parent.name !== undefined ? `${parent.name} (fork at turn ${body.atTurn})`.slice(0, 200) : undefined);
  const info: SessionInfo = {
    ...(userId !== undefined ? { userId } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(parent.metadata ? { metadata: parent.metadata } : {}),
    parentSessionId: parentId,
    forkedAtTurn: body.atTurn,
  };
  await timeTravelBackend(app).startFork(agent, newId, info, { state, answered: snapshot.answered });
  return { ...(await app.backend.state(newId)), source: 'live' };
}

/** Sessions this process rewound, with their latest branch (insertion order = oldest first), at most 10,000. */
const rewound = new Map<string, string>();
const MAX_REWOUND_REMEMBERED = 10_000;

function rememberRewind(sessionId: string, done: RewindReply): void {
  if (!done.branch) return;
  rewound.delete(sessionId);
  rewound.set(sessionId, done.branch);
  if (rewound.size > MAX_REWOUND_REMEMBERED) rewound.delete(rewound.keys().next().value!);
}

/**
 * Send options of `POST /sessions/:id/messages` for a session this process rewound: the update id
 * `<messageId>@<branch>`, so a superseded message id sent again runs a new turn instead of getting Temporal's cached
 * outcome of its first update. Retry-safe (same message, same branch, same update id). Other API processes do not
 * know of the rewind (docs/time-travel.md: send superseded messages again with a new id, `regenerate` or `edit`).
 */
export function resendAfterRewind(sessionId: string, messageId: string): { updateId?: string } | undefined {
  const branch = rewound.get(sessionId);
  return branch ? resendOptions(messageId, { toTurn: 0, fromTurn: 0, branch }) : undefined;
}

/** Rewinds session `sessionId` to its state after `toTurn`; returns what the update did and the new state. */
export async function rewindSession(app: FastifyInstance, sessionId: string, toTurn: number): Promise<RewindReply & { session: SessionStateReply }> {
  const done = await timeTravelBackend(app).rewind(sessionId, toTurn);
  rememberRewind(sessionId, done);
  return { ...done, session: { ...(await app.backend.state(sessionId)), source: 'live' } };
}

/**
 * The user message of turn `turn` (full text: the archive's, else the live run's) with its files (references), or
 * undefined when none is known.
 */
async function userMessageOf(app: FastifyInstance, sessionId: string, turn: number): Promise<UserMessage | undefined> {
  const archived = app.archive ? (await app.archive.getTurns(sessionId, { afterTurn: turn - 1, limit: 1 })).turns[0] : undefined;
  const result = archived?.turn === turn ? archived : (await app.backend.history(sessionId)).turns.find((t) => t.turn === turn);
  const event = result?.events.find((e) => e.type === 'user_message');
  if (!result || event?.type !== 'user_message') return undefined;
  return { messageId: result.messageId, text: event.text, ...(event.files?.length ? { files: event.files } : {}) };
}

/**
 * Regenerates the last reply: rewinds one turn and sends the same user message (same message id: a rewind forgets
 * it) again. Not atomic: a message another client sends in between runs first.
 * @throws CallerError TURN_NOT_FOUND (no turn yet), INVALID_REQUEST (the last turn was an opening turn, which has no
 *   user message), and the rewind's and send's errors.
 */
export async function regenerate(app: FastifyInstance, sessionId: string): Promise<TurnResult> {
  const view = await app.backend.state(sessionId);
  if (view.turns === 0) throw new CallerError('TURN_NOT_FOUND', `session ${sessionId} has no turn to regenerate`);
  const message = await userMessageOf(app, sessionId, view.turns);
  if (!message) throw new CallerError('INVALID_REQUEST', `turn ${view.turns} of session ${sessionId} has no user message to send again (an opening turn)`);
  const done = await timeTravelBackend(app).rewind(sessionId, view.turns - 1);
  rememberRewind(sessionId, done);
  return app.backend.send(sessionId, message, resendOptions(message.messageId, done));
}

/**
 * Edits message `messageId`: rewinds to before its turn and sends `text` (as `newMessageId`, default the same id),
 * with the files the message had (an edit changes its text, not its attachments).
 * @throws CallerError TURN_NOT_FOUND (no turn answered that message), INVALID_REQUEST, and the rewind's and send's errors.
 */
export async function editMessage(app: FastifyInstance, sessionId: string, messageId: string, text: string, newMessageId?: string): Promise<TurnResult> {
  const turn = await turnOfMessage(app, sessionId, messageId);
  if (turn === undefined) throw new CallerError('TURN_NOT_FOUND', `no turn of session ${sessionId} answered message ${messageId}`, { messageId });
  const files = (await userMessageOf(app, sessionId, turn))?.files;
  const message = UserMessageSchema.safeParse({ messageId: newMessageId ?? messageId, text, ...(files ? { files } : {}) });
  if (!message.success) throw new CallerError('INVALID_REQUEST', message.error.issues.map((i) => i.message).join('; '));
  const done = await timeTravelBackend(app).rewind(sessionId, turn - 1);
  rememberRewind(sessionId, done);
  return app.backend.send(sessionId, message.data, resendOptions(message.data.messageId, done));
}

/** The turn that answered `messageId` (live lookup: done or answered long ago), if any. */
export async function turnOfMessage(app: FastifyInstance, sessionId: string, messageId: string): Promise<number | undefined> {
  const lookup = await app.backend.turnResult(sessionId, messageId);
  if (lookup.status === 'done') return lookup.result.turn;
  if (lookup.status === 'answered') return lookup.turn;
  return undefined;
}

/**
 * Turns of a superseded branch as a history page (`GET /sessions/:sessionId/history?branch=`); empty for an unknown
 * branch, and with an archive that keeps no branches (the in-memory one).
 * @throws SystemError ARCHIVE_UNAVAILABLE (503) without an archive.
 */
export async function branchHistory(app: FastifyInstance, sessionId: string, branch: string, afterTurn: number, limit: number): Promise<SessionHistoryReply> {
  const archive = app.archive;
  if (!archive) throw new SystemError('ARCHIVE_UNAVAILABLE', 'superseded branches live in the archive: DATABASE_URL is not set on this API');
  if (!hasTimeTravel(archive)) return { sessionId, source: 'archive', turns: [] };
  const page = await archive.getBranchTurns(sessionId, branch, { afterTurn, limit });
  return { sessionId, source: 'archive', turns: page.turns.map(historyTurnOf), ...(page.nextAfterTurn !== undefined ? { nextAfterTurn: page.nextAfterTurn } : {}) };
}

/**
 * Rewinds to before the turn that answered `messageId` (AI SDK `regenerate-message`), so that sending it again runs a
 * new turn; nothing when no turn answered it yet. @throws the rewind's errors (TURN_IN_FLIGHT, SESSION_ENDED, ...).
 */
export async function rewindBefore(app: FastifyInstance, sessionId: string, messageId: string): Promise<{ updateId?: string } | undefined> {
  const backend = timeTravelBackend(app);
  let turn: number | undefined;
  try {
    turn = await turnOfMessage(app, sessionId, messageId);
  } catch (err) {
    if (isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND') return undefined; // a new chat: its first message starts it
    throw err;
  }
  if (turn === undefined) return undefined;
  const done = await backend.rewind(sessionId, turn - 1);
  rememberRewind(sessionId, done);
  return resendOptions(messageId, done);
}

/**
 * Send options of a message sent again after `rewind`: a new update id (`<messageId>@<branch>`), since Temporal
 * answers an update id it has already seen in the run with its first outcome. Unique per rewind, so a retried
 * regenerate or edit is a new one.
 */
export function resendOptions(messageId: string, rewind: RewindReply): { updateId?: string } {
  return rewind.branch ? { updateId: `${messageId}@${rewind.branch}`.slice(0, 200) } : {};
}
