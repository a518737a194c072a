/**
 * TemporalSessions without a Temporal server: the error mapping over real `@temporalio/client` error classes, real
 * gRPC failures against a closed port, and the reconnecting stand-in backend behind the real app.
 */
import { closedPort } from '../support/net.js';
import {
  ApplicationFailure,
  Client,
  Connection,
  NamespaceNotFoundError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionBackend } from '../../api/sessions.js';
import { ReconnectingSessions } from '../../api/reconnecting-sessions.js';
import { isContinuing, isNoRecentPoller, isQueryTooEarly, isWorkflowTaskFailing, mapTemporalError } from '../../api/temporal-errors.js';
import { isSendAgain, untilRunStarted, withRetries } from '../../api/update-retries.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { temporalGrpcInterceptors } from '../../api/closed-channel.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { CallerError, StepwiseError, SystemError } from '../../src/errors.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, type Harness } from '../support/api.js';
import { scriptedExecutors } from '../support/scripted-executors.js';

/** A gRPC service error as @grpc/grpc-js produces it (code, details, metadata). */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

function mapped(err: unknown): StepwiseError {
  const out = mapTemporalError(err, 's1');
  expect(out).toBeInstanceOf(StepwiseError);
  return out as StepwiseError;
}

describe('mapTemporalError', () => {
  it('WorkflowExecutionAlreadyStartedError -> SESSION_EXISTS', () => {
    const e = mapped(new WorkflowExecutionAlreadyStartedError('Workflow execution already started', 'session-s1', 'sessionWorkflow'));
    expect(e).toBeInstanceOf(CallerError);
    expect(e.code).toBe('SESSION_EXISTS');
    expect(e.message).toContain('s1');
  });

  it('WorkflowNotFoundError -> SESSION_NOT_FOUND, or SESSION_ENDED when the workflow already completed', () => {
    expect(mapped(new WorkflowNotFoundError('workflow not found for ID: session-s1', 'session-s1', undefined)).code).toBe('SESSION_NOT_FOUND');
    expect(mapped(new WorkflowNotFoundError('workflow execution already completed', 'session-s1', undefined)).code).toBe('SESSION_ENDED');
    expect(mapped(new WorkflowNotFoundError('update aborted by closing workflow', 'session-s1', undefined)).code).toBe('SESSION_ENDED');
  });

  it('an update aborted by its closing run is sent again (the run may have continued as new); a completed one is not', () => {
    expect(isContinuing(new WorkflowNotFoundError('update aborted by closing workflow', 'session-s1', undefined))).toBe(true);
    expect(isContinuing(new WorkflowNotFoundError('workflow execution already completed', 'session-s1', undefined))).toBe(false);
    expect(isContinuing(new WorkflowNotFoundError('workflow not found for ID: session-s1', 'session-s1', undefined))).toBe(false);
  });

  it('update failures typed with a Stepwise code keep that code and message', () => {
    const invalid = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('text must not be empty', 'INVALID_REQUEST')));
    expect(invalid).toBeInstanceOf(CallerError);
    expect([invalid.code, invalid.message]).toEqual(['INVALID_REQUEST', 'text must not be empty']);
    const ended = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('session s1 has ended', 'SESSION_ENDED')));
    expect(ended.code).toBe('SESSION_ENDED');
  });

  it('an update the server rejected as unprocessed by the worker is sent again, and maps to TEMPORAL_UNAVAILABLE if it stays so', async () => {
    // The server's failure as it sends it (Temporal service/history/workflow/update/errors_failures.go), decoded by
    // the client's own failure converter, as `WorkflowUpdateHandle.result()` throws it (chaos seed 7013: one 500).
    const cause = new DefaultFailureConverter().failureToError(
      {
        message: "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
        source: 'Server',
        applicationFailureInfo: { type: 'UnprocessedUpdate', nonRetryable: true },
      },
      defaultPayloadConverter,
    );
    const unprocessed = new WorkflowUpdateFailedError('Workflow Update failed', cause);
    expect(isSendAgain(unprocessed)).toBe(true);
    expect(isSendAgain(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('session s1 has ended', 'SESSION_ENDED')))).toBe(false);
    const mappedUnprocessed = mapped(unprocessed);
    expect(mappedUnprocessed).toBeInstanceOf(SystemError);
    expect(mappedUnprocessed.code).toBe('TEMPORAL_UNAVAILABLE');
    const fn = vi.fn<() => Promise<string>>().mockRejectedValueOnce(unprocessed).mockResolvedValueOnce('accepted');
    await expect(withRetries(fn, Date.now() + 5_000)).resolves.toBe('accepted');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('QUEUE_FULL (the session holds its most queued bytes) -> RATE_LIMITED with a retry delay', () => {
    const full = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.retryable('session s1 has 8 messages waiting; send again later', 'QUEUE_FULL')));
    expect([full.code, full.details]).toEqual(['RATE_LIMITED', { retryAfterSeconds: 1 }]);
    expect(full.message).toMatch(/8 messages waiting.*same messageId/);
  });

  it('a validator error whose message starts with a code (`SESSION_ENDED: ...`) -> that code', () => {
    // What workflows/session.ts's sendMessage validator throws.
    const ended = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.fromError(new Error('SESSION_ENDED: session s1 has ended'))));
    expect(ended).toBeInstanceOf(CallerError);
    expect([ended.code, ended.message]).toEqual(['SESSION_ENDED', 'session s1 has ended']);
    const invalid = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.fromError(new Error('INVALID_REQUEST: text must not be empty'))));
    expect([invalid.code, invalid.message]).toEqual(['INVALID_REQUEST', 'text must not be empty']);
    // Not a code: the whole message is kept.
    const other = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.fromError(new Error('NOPE: x'))));
    expect([other.code, other.message]).toEqual(['INVALID_REQUEST', 'NOPE: x']);
  });

  it('a plain error thrown by an update validator -> INVALID_REQUEST with its message', () => {
    for (const thrown of [new Error('text too long'), new CallerError('INVALID_REQUEST', 'text too long')]) {
      // What the SDK sends back for a validator that throws a non-Temporal error.
      const e = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.fromError(thrown)));
      expect([e.code, e.message]).toEqual(['INVALID_REQUEST', 'text too long']);
    }
  });

  it('other update failures -> TURN_FAILED', () => {
    const e = mapped(new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('all models down', 'DecideFailed')));
    expect(e.code).toBe('TURN_FAILED');
    expect(e.message).toContain('all models down');
    expect(mapped(new WorkflowUpdateFailedError('Workflow Update failed', undefined)).code).toBe('TURN_FAILED');
  });

  it('timeouts, unreachable server and unknown namespace -> TEMPORAL_UNAVAILABLE', () => {
    const timeout = mapped(new WorkflowUpdateRPCTimeoutOrCancelledError('timeout', { cause: grpcError(4, 'Deadline exceeded') }));
    expect(timeout).toBeInstanceOf(SystemError);
    expect(timeout.code).toBe('TEMPORAL_UNAVAILABLE');
    expect(timeout.message).toContain('same messageId');
    const down = mapped(new ServiceError('Failed to query Workflow', { cause: grpcError(14, 'No connection established') }));
    expect([down.code, down.message]).toEqual(['TEMPORAL_UNAVAILABLE', 'Temporal is unavailable (UNAVAILABLE); retry later']);
    expect(mapped(grpcError(4, 'Deadline exceeded')).code).toBe('TEMPORAL_UNAVAILABLE');
    expect(mapped(new NamespaceNotFoundError('prod')).message).toContain('prod');
  });

  it('a query that reaches a run before its first workflow task (continue-as-new) -> TEMPORAL_UNAVAILABLE, retried until it answers', async () => {
    const early = () => new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'Workflow task is not scheduled yet.') });
    expect(isQueryTooEarly(early())).toBe(true);
    expect(isQueryTooEarly(new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'something else') }))).toBe(false);
    expect(mapped(early()).code).toBe('TEMPORAL_UNAVAILABLE'); // never a 500
    let calls = 0;
    const answer = await untilRunStarted(async () => {
      if (++calls < 4) throw early();
      return 'view';
    }, Date.now() + 5_000);
    expect([answer, calls]).toEqual(['view', 4]);
    await expect(untilRunStarted(async () => Promise.reject(early()), Date.now() + 100)).rejects.toThrow('Failed to query Workflow');
  });

  it('a query that finds no worker polling (all down or stalled) -> TEMPORAL_UNAVAILABLE, not a 500', () => {
    // The dev server's answer, seen in the chaos suite (seed 7007) while one worker was stalled and the other dead.
    const noPoller = new ServiceError('Failed to query Workflow', {
      cause: grpcError(9, 'no poller seen for task queue recently, worker may be down'),
    });
    expect(isNoRecentPoller(noPoller)).toBe(true);
    expect(isNoRecentPoller(new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'something else') }))).toBe(false);
    const mappedNoPoller = mapped(noPoller);
    expect(mappedNoPoller).toBeInstanceOf(SystemError);
    expect([mappedNoPoller.code, mappedNoPoller.message]).toEqual(['TEMPORAL_UNAVAILABLE', 'no worker is polling for session s1 (workers down or stalled); retry later']);
  });

  it('a query or update refused while the workflow task keeps failing -> TEMPORAL_UNAVAILABLE, not a 500', () => {
    // The dev server's answers, seen in the chaos suite (seed 7008) for a session whose workflow task kept failing.
    const query = new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'Unable to query workflow due to Workflow Task in failed state.') });
    const update = new ServiceError('Workflow Update failed', {
      cause: grpcError(9, 'Unable to perform workflow execution update due to Workflow Task in failed state.'),
    });
    for (const err of [query, update]) {
      expect(isWorkflowTaskFailing(err)).toBe(true);
      expect(mapped(err)).toMatchObject({ code: 'TEMPORAL_UNAVAILABLE', message: expect.stringContaining('workflow task is failing') });
    }
    expect(isWorkflowTaskFailing(new ServiceError('Failed to query Workflow', { cause: grpcError(9, 'something else') }))).toBe(false);
  });

  it('RESOURCE_EXHAUSTED (e.g. the in-flight update cap) -> RATE_LIMITED with a retry delay, answered 429 + Retry-After', async () => {
    const limited = mapped(new ServiceError('Failed to update Workflow', { cause: grpcError(8, 'too many outstanding updates') }));
    expect([limited.code, limited.details]).toEqual(['RATE_LIMITED', { retryAfterSeconds: 1 }]);
    const backend = { health: async () => ({ temporal: 'ok' }), send: async () => Promise.reject(limited), close: async () => {} } as unknown as SessionBackend;
    h = await build({ backend });
    const res = await call(h.app, 'POST', '/sessions/s1/messages', { text: 'hi' });
    expectError(res, 429, 'RATE_LIMITED');
    expect(res.res.headers['retry-after']).toBe('1');
  });

  it('passes StepwiseErrors through and leaves unknown errors alone', () => {
    const own = new CallerError('SESSION_ENDED', 'x');
    expect(mapTemporalError(own, 's1')).toBe(own);
    const invalidArg = new ServiceError('Failed to start Workflow', { cause: grpcError(3, 'bad memo') });
    expect(mapTemporalError(invalidArg, 's1')).toBe(invalidArg);
    const bug = new TypeError('x is undefined');
    expect(mapTemporalError(bug, 's1')).toBe(bug);
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe('TemporalSessions against an unreachable server (real gRPC)', () => {
  it('connect() fails with TEMPORAL_UNAVAILABLE naming the address', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const err = await TemporalSessions.connect({ address, namespace: 'default', taskQueue: 'stepwise', connectTimeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(SystemError);
    expect(err.code).toBe('TEMPORAL_UNAVAILABLE');
    expect(err.message).toContain(address);
  });

  it('every call maps to TEMPORAL_UNAVAILABLE, health is unavailable, and the API answers 503 / degraded', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await closedPort()}`, connectTimeout: 300, interceptors: temporalGrpcInterceptors() });
    const backend = new TemporalSessions({
      client: new Client({ connection }),
      taskQueue: 'stepwise',
      rpcTimeoutMs: 150,
      turnTimeoutMs: 150,
      ownsConnection: true,
    });
    expect((await backend.health()).temporal).toBe('unavailable');
    for (const op of [() => backend.state('s1'), () => backend.send('s1', { messageId: 'm1', text: 'hi' }), () => backend.end('s1')]) {
      const err = await op().catch((e) => e);
      expect(err.code).toBe('TEMPORAL_UNAVAILABLE');
    }
    h = await build({ backend });
    const health = await call(h.app, 'GET', '/health');
    expect(health.res.statusCode).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', temporal: 'unavailable', agents: 1 });
    expectError(await call(h.app, 'POST', '/sessions', { agentId: 'test-agent', sessionId: 's1' }), 503, 'TEMPORAL_UNAVAILABLE');
  });
});

// A completed workflow (SESSION_ENDED, idempotent end, retried last message) and starts (memo, id reuse,
// SESSION_EXISTS) are tested on the real dev server: test/integration/session.int.test.ts and api.int.test.ts.

describe('ReconnectingSessions', () => {
  const down = () => Promise.reject(new SystemError('TEMPORAL_UNAVAILABLE', 'cannot reach Temporal at localhost:7233: refused'));

  it('while Temporal is down: health degraded with the reason, 503 on every session route', async () => {
    const backend = new ReconnectingSessions({ connect: down, retryMs: 60_000 });
    expect(await backend.connectOrRetry()).toBe(false);
    h = await build({ backend });
    const health = await call(h.app, 'GET', '/health');
    expect(health.res.statusCode).toBe(200);
    expect(health.body).toEqual({
      status: 'degraded',
      temporal: 'unavailable',
      detail: 'cannot reach Temporal at localhost:7233: refused',
      agents: 1,
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), // NOMOS's health field
    });
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/sessions', { agentId: 'test-agent' }],
      ['POST', '/sessions/s1/messages', { text: 'hi' }],
      ['POST', '/sessions/s1/messages?wait=false', { text: 'hi' }],
      ['GET', '/sessions/s1'],
      ['GET', '/sessions/s1/history'],
      ['DELETE', '/sessions/s1'],
    ];
    for (const [method, url, payload] of routes) {
      expectError(await call(h.app, method as 'GET', url, payload), 503, 'TEMPORAL_UNAVAILABLE');
    }
    // Agents do not need Temporal.
    expect((await call(h.app, 'GET', '/agents')).res.statusCode).toBe(200);
  });

  it('keeps retrying in the background and recovers without a restart', async () => {
    const exec = scriptedExecutors([{ action: 'RESPOND', response: 'back online' }]);
    let attempts = 0;
    const onAttempt = vi.fn();
    const backend = new ReconnectingSessions({
      retryMs: 10,
      onAttempt,
      connect: async (): Promise<SessionBackend> => {
        attempts++;
        if (attempts < 3) throw new Error(`refused #${attempts}`);
        return new LocalSessions({ executors: () => exec, now: exec.now });
      },
    });
    expect(await backend.connectOrRetry()).toBe(false);
    h = await build({ backend });
    await vi.waitFor(() => expect(backend.connected).toBe(true), { timeout: 2_000, interval: 5 });
    expect(attempts).toBe(3);
    expect(onAttempt.mock.calls.map(([r]) => r)).toEqual([
      { connected: false, error: 'refused #1' },
      { connected: false, error: 'refused #2' },
      { connected: true },
    ]);
    expect((await call(h.app, 'GET', '/health')).body.status).toBe('ok');
    const created = await call(h.app, 'POST', '/sessions', { agentId: testAgent().name, message: 'hello' });
    expect(created.res.statusCode).toBe(201);
    expect(created.body.reply).toBe('back online');
    await new Promise((r) => setTimeout(r, 40));
    expect(attempts).toBe(3); // no attempts after success
  });

  it('close() stops the retries and closes the connected backend', async () => {
    let attempts = 0;
    const failing = new ReconnectingSessions({
      retryMs: 5,
      connect: async () => {
        attempts++;
        throw new Error('refused');
      },
    });
    await failing.connectOrRetry();
    await failing.close();
    const after = attempts;
    await new Promise((r) => setTimeout(r, 30));
    expect(attempts).toBe(after);

    const inner = new LocalSessions({ executors: () => scriptedExecutors([]) });
    const close = vi.spyOn(inner, 'close');
    const ok = new ReconnectingSessions({ connect: async () => inner });
    expect(await ok.connectOrRetry()).toBe(true);
    await ok.close();
    expect(close).toHaveBeenCalledOnce();
  });

  it('hands onSessionActivity listeners registered while down to the backend it connects, and stops calling removed ones', async () => {
    let notify: ((sessionId: string) => void) | undefined;
    const inner = Object.assign(new LocalSessions({ executors: () => scriptedExecutors([]) }), {
      onSessionActivity: (listener: (sessionId: string) => void) => ((notify = listener), () => (notify = undefined)),
    });
    const backend = new ReconnectingSessions({ connect: async () => inner });
    const heard: string[] = [];
    const off = backend.onSessionActivity((id) => heard.push(`a:${id}`));
    backend.onSessionActivity((id) => heard.push(`b:${id}`));
    expect(await backend.connectOrRetry()).toBe(true);
    notify!('s1');
    off();
    notify!('s2');
    expect(heard).toEqual(['a:s1', 'b:s1', 'b:s2']);
    await backend.close();
  });
});
