/**
 * Errors of `@temporalio/client` mapped to Stepwise's stable codes ({@link mapTemporalError}), for the API's Temporal
 * backend (`./temporal-sessions.ts`).
 */
import {
  ApplicationFailure,
  NamespaceNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';
import { CallerError, ERROR_CODES, type ErrorCode, HTTP_STATUS, StepwiseError, SystemError, isStepwiseError, sendAgainLater } from '../src/errors.js';
import { QUEUE_FULL, SESSION_CONTINUING } from '../workflows/shared.js';
import { GateFullError } from './update-gate.js';

/**
 * gRPC status codes meaning "Temporal cannot serve this now" (https://grpc.github.io/grpc/core/md_doc_statuscodes.html):
 * CANCELLED 1, DEADLINE_EXCEEDED 4, RESOURCE_EXHAUSTED 8, PERMISSION_DENIED 7, UNAVAILABLE 14, UNAUTHENTICATED 16.
 */
const UNAVAILABLE_GRPC_CODES: Record<number, string> = {
  1: 'CANCELLED',
  4: 'DEADLINE_EXCEEDED',
  7: 'PERMISSION_DENIED',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** gRPC RESOURCE_EXHAUSTED: a server limit such as in-flight updates per workflow, or a namespace rate limit. */
const GRPC_RESOURCE_EXHAUSTED = 8;

/**
 * True when an update was refused because its run is continuing as new (send it again: it reaches the next run): the
 * workflow's SESSION_CONTINUING refusal, or the server aborting an update its run closed under ("update aborted by
 * closing workflow"), which is also what a run continuing as new does to an update it had not accepted yet. Sent
 * again, an update to a session that really ended answers "workflow execution already completed" (SESSION_ENDED).
 */
export function isContinuing(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return /closing workflow|workflow is closing/i.test(err.message);
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === SESSION_CONTINUING;
}

/**
 * True when the server rejected an update because the worker completed the workflow task that carried it without
 * answering it (failure type `UnprocessedUpdate`, "Workflow Update is rejected because it wasn't processed by worker",
 * Temporal server `service/history/workflow/update/errors_failures.go`): nothing was accepted, so the same update id
 * can be sent again. Seen in `npm run chaos -- --seed 7013` when the SDK core dropped an update it had buffered ("There
 * are unprocessed protocol messages while receiving new work"); the server marks it non-retryable, for the worker.
 */
export function isUnprocessedUpdate(err: unknown): boolean {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'UnprocessedUpdate';
}

/**
 * Whether `err` or its `cause` chain (at most 8 deep) holds a gRPC service error that `match` accepts: client
 * errors wrap the server's status one or more levels down.
 */
function grpcErrorInChain(err: unknown, match: (e: { code: number; details?: string; message: string }) => boolean): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && match(e)) return true;
  }
  return false;
}

/** gRPC FAILED_PRECONDITION. */
const GRPC_FAILED_PRECONDITION = 9;

/** Whether `err`'s cause chain holds a gRPC FAILED_PRECONDITION whose details (or message) match `reason`. */
function failedPrecondition(err: unknown, reason: RegExp): boolean {
  return grpcErrorInChain(err, (e) => e.code === GRPC_FAILED_PRECONDITION && reason.test(e.details ?? e.message));
}

/**
 * True when a query reached a run that has not had its first workflow task yet (gRPC FAILED_PRECONDITION "Workflow
 * task is not scheduled yet": the run continue-as-new just started); it answers a moment later.
 */
export function isQueryTooEarly(err: unknown): boolean {
  return failedPrecondition(err, /not scheduled yet/i);
}

/**
 * True when a query found no worker polling the session's task queue recently (gRPC FAILED_PRECONDITION "no poller
 * seen for task queue recently, worker may be down": every worker is down or stalled, or the server has just
 * restarted and not yet seen their polls). It answers once a worker polls again.
 */
export function isNoRecentPoller(err: unknown): boolean {
  return failedPrecondition(err, /no poller seen/i);
}

/**
 * True when the server refused a query or an update because the session's workflow task keeps failing (gRPC
 * FAILED_PRECONDITION "... due to Workflow Task in failed state": a worker error, e.g. a replay that timed out or a
 * nondeterminism error; the worker logs say which). It answers again once a retry of the task succeeds.
 */
export function isWorkflowTaskFailing(err: unknown): boolean {
  return failedPrecondition(err, /workflow task in failed state/i);
}

/** gRPC NOT_FOUND (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC_NOT_FOUND = 5;

/**
 * True when `err` says the thing asked for does not exist: `WorkflowNotFoundError`, or a gRPC NOT_FOUND in its cause
 * chain (e.g. polling an update id the current run never had).
 */
export function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || grpcErrorInChain(err, (e) => e.code === GRPC_NOT_FOUND);
}

/** True when `err` or its cause chain is a gRPC RESOURCE_EXHAUSTED (retry later: RATE_LIMITED). */
export function isResourceExhausted(err: unknown): boolean {
  return grpcErrorInChain(err, (e) => e.code === GRPC_RESOURCE_EXHAUSTED);
}

/**
 * Failure types that a workflow update validator produces when it throws a plain error (the SDK names the failure
 * after the error's class). Validator rejections never reach history, so they are the caller's fault.
 */
const VALIDATOR_ERROR_TYPES = new Set(['Error', 'ZodError', 'CallerError', 'StepwiseError']);

/** A code whose HTTP status is 4xx ({@link HTTP_STATUS}) is the caller's fault: it becomes a {@link CallerError}. */
function isCallerCode(code: ErrorCode): boolean {
  return HTTP_STATUS[code] >= 400 && HTTP_STATUS[code] < 500;
}

function isErrorCode(value: string | undefined): value is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(value ?? '');
}

function withCode(code: ErrorCode, message: string, details?: unknown): StepwiseError {
  return isCallerCode(code) ? new CallerError(code, message, details) : new StepwiseError(code, message, details);
}

/** Whether `err` (or its cause chain) is a gRPC DEADLINE_EXCEEDED: the call's deadline passed, its outcome unknown. */
export function isDeadlineExceeded(err: unknown): boolean {
  return transientGrpcStatus(err) === 'DEADLINE_EXCEEDED';
}

/** The gRPC status name of a transient failure in `err` or its `cause` chain, if any. */
function transientGrpcStatus(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isGrpcServiceError(e) && UNAVAILABLE_GRPC_CODES[e.code] !== undefined) return UNAVAILABLE_GRPC_CODES[e.code];
  }
  return undefined;
}

/**
 * Maps an error thrown by `@temporalio/client` for session `sessionId` to a `StepwiseError`:
 * - `WorkflowExecutionAlreadyStartedError` -> SESSION_EXISTS (running, or closed and not reusable);
 * - `WorkflowNotFoundError` -> SESSION_ENDED when the server says "workflow execution already completed" (update or
 *   signal to a closed workflow) or that the update was aborted by its closing workflow, else SESSION_NOT_FOUND;
 * - an update the server rejected as unprocessed by the worker ({@link isUnprocessedUpdate}) -> TEMPORAL_UNAVAILABLE;
 * - `WorkflowUpdateFailedError` whose cause is an `ApplicationFailure`: its `type` when that is a Stepwise code
 *   (`ApplicationFailure.nonRetryable(message, 'SESSION_ENDED')`), RATE_LIMITED for QUEUE_FULL (the session's queue
 *   is full: retry later), or the code prefixing its message when a validator
 *   threw a plain `Error('INVALID_REQUEST: ...')`; INVALID_REQUEST for any other plain error a validator threw
 *   (rejections never reach history); else TURN_FAILED;
 * - a query that reached a run before its first workflow task, or found no worker polling, and a query or update
 *   refused while the workflow task keeps failing (FAILED_PRECONDITION) -> TEMPORAL_UNAVAILABLE;
 * - gRPC RESOURCE_EXHAUSTED (e.g. the server's in-flight update cap) and a full {@link UpdateGate} lane -> RATE_LIMITED
 *   with `details.retryAfterSeconds`;
 * - `WorkflowUpdateRPCTimeoutOrCancelledError`, `NamespaceNotFoundError`, and any error whose cause chain holds a
 *   gRPC UNAVAILABLE / DEADLINE_EXCEEDED / CANCELLED / auth status -> TEMPORAL_UNAVAILABLE
 *   (retryable by the caller; for `sendMessage`, retry with the same message id).
 * A `StepwiseError` passes through; anything else is returned unchanged (the API reports it as INTERNAL).
 */
export function mapTemporalError(err: unknown, sessionId: string): unknown {
  if (isStepwiseError(err)) return err;
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return new CallerError('SESSION_EXISTS', `session ${sessionId} already exists (ids of ended sessions are not reused)`);
  }
  if (err instanceof WorkflowNotFoundError) {
    // "workflow execution already completed", or an update the server aborted because its workflow closed meanwhile
    // ("update aborted by closing workflow"): the session ended, it was found.
    return /already completed|closing workflow|workflow is closing/i.test(err.message)
      ? new CallerError('SESSION_ENDED', `session ${sessionId} has ended`)
      : new CallerError('SESSION_NOT_FOUND', `session ${sessionId} not found`);
  }
  if (isUnprocessedUpdate(err)) {
    return new SystemError('TEMPORAL_UNAVAILABLE', `the worker dropped this update to session ${sessionId} unanswered; retry it (with the same messageId for a message)`);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const type = cause.type ?? '';
      if (type === QUEUE_FULL) return sendAgainLater(cause.message);
      if (isErrorCode(type)) return withCode(type, cause.message, cause.details?.[0]);
      // A plain `Error('SESSION_ENDED: ...')` from a validator: the code travels as the message prefix.
      const prefixed = /^([A-Z_]+): ([\s\S]*)$/.exec(cause.message);
      if (prefixed && isErrorCode(prefixed[1])) return withCode(prefixed[1], prefixed[2]);
      if (VALIDATOR_ERROR_TYPES.has(type)) return new CallerError('INVALID_REQUEST', cause.message);
    }
    return new StepwiseError('TURN_FAILED', `turn failed in session ${sessionId}: ${cause?.message ?? err.message}`);
  }
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    return new SystemError(
      'TEMPORAL_UNAVAILABLE',
      'Temporal did not answer in time; the request may still complete: retry it (with the same messageId for a message)',
    );
  }
  if (err instanceof NamespaceNotFoundError) {
    return new SystemError('TEMPORAL_UNAVAILABLE', `Temporal namespace ${err.namespace} not found`);
  }
  if (isQueryTooEarly(err)) {
    return new SystemError('TEMPORAL_UNAVAILABLE', `session ${sessionId} is starting its next run (continue-as-new); retry`);
  }
  if (isWorkflowTaskFailing(err)) {
    return new SystemError('TEMPORAL_UNAVAILABLE', `session ${sessionId} cannot answer: its workflow task is failing (see the worker logs); retry later`);
  }
  if (isNoRecentPoller(err)) {
    return new SystemError('TEMPORAL_UNAVAILABLE', `no worker is polling for session ${sessionId} (workers down or stalled); retry later`);
  }
  if (err instanceof GateFullError || isResourceExhausted(err)) {
    return new StepwiseError('RATE_LIMITED', `too many messages in flight for session ${sessionId}; retry later (with the same messageId)`, {
      retryAfterSeconds: 1,
    });
  }
  const status = transientGrpcStatus(err);
  if (status) return new SystemError('TEMPORAL_UNAVAILABLE', `Temporal is unavailable (${status}); retry later`);
  return err;
}
