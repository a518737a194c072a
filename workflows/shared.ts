/**
 * Session workflow message definitions: the one module the API, the worker and the workflow all import.
 *
 * Workflow id `session-<sessionId>`. Update `sendMessage` (the message id is the update id, so a retried request
 * never runs a turn twice), signal `postMessage` (fire-and-forget), queries `getState`, `getHistory`, `getEvents`,
 * and `endSession` as both update and signal. Their payload schemas are the session contract
 * (`src/session/contract.ts`), re-exported here.
 *
 * Sandbox-safe: imports only `@temporalio/workflow`, `@temporalio/common` and pure code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RewindReply, RewindRequest, TurnStateLookup } from '../src/engine/rewind.js';
import type { SessionState, TurnResult } from '../src/engine/types.js';
import type {
  ApprovalLookup,
  ApprovalReply,
  ApprovalRequest,
  EventsPage,
  SessionHistory,
  SessionInfoPatch,
  SessionView,
  TurnLookup,
  UserMessage,
} from '../src/session/contract.js';

export * from '../src/session/contract.js';

/** Agent name of the session. */
export const agentSearchAttribute = defineSearchAttributeKey('StepwiseAgent', SearchAttributeType.KEYWORD);
/** Current step id (updated after every turn). */
export const stepSearchAttribute = defineSearchAttributeKey('StepwiseStep', SearchAttributeType.KEYWORD);
/** `active` or `ended`. */
export const statusSearchAttribute = defineSearchAttributeKey('StepwiseStatus', SearchAttributeType.KEYWORD);

export const sendMessage = defineUpdate<TurnResult, [UserMessage]>('sendMessage');
export const postMessage = defineSignal<[UserMessage]>('postMessage');
export const endSessionUpdate = defineUpdate<SessionView, []>('endSession');
export const endSessionSignal = defineSignal<[]>('endSessionSignal');
/** Changes the session's name and/or metadata; returns the new state. Refused (validator) on an ended session. */
export const updateSessionInfo = defineUpdate<SessionView, [SessionInfoPatch]>('updateSessionInfo');
/** Runs the opening turn of a session started with `initiate` (update id `OPENING_MESSAGE_ID`) and returns it. */
export const openSession = defineUpdate<TurnResult, []>('openSession');
/**
 * Decides a call waiting for approval. Validator: APPROVAL_NOT_FOUND (no such call waits), APPROVAL_ALREADY_DECIDED,
 * SESSION_ENDED, INVALID_REQUEST — all before anything reaches history.
 */
export const decideApproval = defineUpdate<ApprovalReply, [ApprovalRequest]>('decideApproval');
/**
 * The same decision as a signal, for when the update finds no room: Temporal caps the updates in flight per workflow
 * (`history.maxInFlightUpdates`, 10 by default), and messages queued behind a turn that waits for approval hold them
 * until that turn ends, which only this decision can bring about. A decision the validator would refuse is dropped
 * (logged); the API confirms with {@link getApproval} and sends it again to the next run after continue-as-new.
 */
export const approvalSignal = defineSignal<[ApprovalRequest]>('approvalDecision');
/** Where a tool call's approval stands (`queued`: a decision waits to be applied): what the API confirms a signal with. */
export const getApproval = defineQuery<ApprovalLookup, [string]>('getApproval');
/**
 * Takes the session back to its state after turn `toTurn` (docs/time-travel.md). Validator (nothing reaches history):
 * INVALID_REQUEST, TURN_NOT_FOUND, TURN_IN_FLIGHT, REWIND_IN_PROGRESS, SESSION_ENDED, TURN_STATE_UNAVAILABLE (no
 * archive and the turn is older than this run's snapshots), SESSION_CONTINUING.
 */
export const rewind = defineUpdate<RewindReply, [RewindRequest]>('rewind');
/** The snapshot after a turn, when this run holds it (a fork's source; works on closed workflows too). */
export const getTurnState = defineQuery<TurnStateLookup, [number]>('getTurnState');
export const getState = defineQuery<SessionView>('getState');
export const getHistory = defineQuery<SessionHistory>('getHistory');
export const getEvents = defineQuery<EventsPage, [number]>('getEvents');
export const getTurnResult = defineQuery<TurnLookup, [string]>('getTurnResult');

/** Re-export so hosts can type carried state without importing engine internals. */
export type { SessionState };
