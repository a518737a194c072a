/**
 * Ending a session when the `endSession` update finds no room: Temporal's cap on in-flight updates per workflow
 * (`history.maxInFlightUpdates`, 10 by default) can be full of `sendMessage` updates queued behind a turn, and the
 * end must not wait behind them (see ./approval-signal.ts for the same case with approvals). The end goes in as the
 * `endSessionSignal` signal (no such cap; the workflow's `requestEnd` is idempotent) and is confirmed with the
 * `getState` query, which answers on closed workflows too.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { SystemError } from '../src/errors.js';
import { endSessionSignal, getState, type SessionView } from '../workflows/shared.js';
import { untilConfirmed } from './update-retries.js';

/**
 * Asks the session to end by signal and waits, until `deadline` (epoch ms), for it to have ended.
 *
 * @returns the session's final view (`status: 'ended'`).
 * @throws SystemError TEMPORAL_UNAVAILABLE (retryable: the end stays requested) when the session has not ended by the
 *   deadline (a turn still running or waiting for approval ends first); client errors of the query/signal (the caller
 *   maps them).
 */
export function endBySignal(handle: WorkflowHandle, sessionId: string, deadline: number): Promise<SessionView> {
  return untilConfirmed<SessionView>(
    async () => {
      const view = await handle.query(getState);
      // Not `ending` yet: the signal has not arrived (or a run continuing as new dropped it).
      return view.status === 'ended' ? { done: view } : { send: !view.ending };
    },
    () => handle.signal(endSessionSignal),
    deadline,
    () => new SystemError('TEMPORAL_UNAVAILABLE', `session ${sessionId} was asked to end but has not ended yet; send DELETE again`),
  );
}
