/**
 * The in-process backend applies the session workflow's admission rules (workflows/admission.ts, issue 25.9): a
 * message answered long ago (past the 20 held results) is refused MESSAGE_ALREADY_ANSWERED instead of running a second
 * turn, the reserved first-message id belongs to sessions started with it, and the queue has the workflow's bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalSessions } from '../../cli/local-sessions.js';
import { isStepwiseError } from '../../src/errors.js';
import { FIRST_MESSAGE_ID } from '../../workflows/shared.js';
import { build, type Harness } from '../support/api.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const responses = (n: number) => Array.from({ length: n }, (_, i) => ({ action: 'RESPOND', response: `reply ${i}` }));
const codeOf = (err: unknown) => (isStepwiseError(err) ? err.code : String(err));

describe('LocalSessions admission (shared with the workflow)', () => {
  it('refuses a retry of a message answered long ago instead of running a second turn', async () => {
    h = await build({ script: responses(30) });
    const sessions = h.backend as LocalSessions;
    const agent = h.agents.values().next().value!;
    await sessions.start(agent, 's1');
    for (let i = 0; i < 25; i++) await sessions.send('s1', { messageId: `m${i}`, text: `hi ${i}` });
    // m0's full result is no longer held (the newest 20 are), but its id is remembered.
    expect(await sessions.turnResult('s1', 'm0')).toEqual({ status: 'answered', turn: 1 });
    const err = await sessions.send('s1', { messageId: 'm0', text: 'hi 0' }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('MESSAGE_ALREADY_ANSWERED');
    expect((err as { details?: unknown }).details).toEqual({ turn: 1 });
    expect((await sessions.state('s1')).turns).toBe(25);
    // A recent one still answers with its result.
    expect((await sessions.send('s1', { messageId: 'm24', text: 'hi 24' })).reply).toBe('reply 24');
  });

  it('the reserved first-message id is refused on a session started without it; an ended session refuses all', async () => {
    h = await build({ script: responses(3) });
    const sessions = h.backend as LocalSessions;
    const agent = h.agents.values().next().value!;
    await sessions.start(agent, 's2');
    expect(codeOf(await sessions.send('s2', { messageId: FIRST_MESSAGE_ID, text: 'hi' }).catch((e: unknown) => e))).toBe('SESSION_EXISTS');
    expect((await sessions.startWithMessage(agent, 's3', { messageId: FIRST_MESSAGE_ID, text: 'hi' })).reply).toBe('reply 0');
    await sessions.end('s3');
    expect(codeOf(await sessions.send('s3', { messageId: 'late', text: 'hi' }).catch((e: unknown) => e))).toBe('SESSION_ENDED');
    expect(codeOf(await sessions.send('s2', { messageId: 'bad', text: '   ' }).catch((e: unknown) => e))).toBe('INVALID_REQUEST');
  });
});
