/**
 * NOMOS's stateless `POST /chat` with client-held `session_data` for a session Stepwise does not have: a new durable
 * session is seeded from it (step, history as memory, active flow with its memory) and runs the input; unknown steps
 * and flows are 400, oversized histories keep the newest items, bad shapes are 400 with details, a session Stepwise
 * has keeps its own state, and user binding still isolates users. In-process backend, scripted model.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NomosChatResponse } from '../../api/routes/nomos-shapes.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { DEFAULT_MEMORY } from '../../src/config/agent.js';
import type { ChatMessage } from '../../src/engine/types.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectError, expectNomosError, type Harness } from '../support/api.js';
import { boundAuth } from '../support/bound-auth.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const SCRIPT = Array.from({ length: 6 }, (_, i) => ({ action: 'RESPOND' as const, response: `reply ${i}` }));

/** A NOMOS client's history: events as NOMOS's server returns them, a plain message, a summary, a step marker. */
const HISTORY = [
  { timestamp: '2026-11-30T10:00:00Z', type: 'user', content: 'Hi, I want coffee', decision: null },
  { timestamp: '2026-11-30T10:00:01Z', type: 'Barista Bot', content: 'Sure! Espresso or latte?', decision: { action: 'RESPOND' } },
  { step_id: 'greet' },
  { role: 'tool', content: 'Tool get_menu executed successfully with args {}.\nResults: espresso, latte' },
  { role: 'error', content: 'Invalid route: nowhere not in [order]' },
  { summary: ['The user is called Ada', 'Ada likes oat milk'] },
  { type: 'end', content: 'Session ended.' },
];

const texts = (messages: ChatMessage[]) => messages.map((m) => m.content);

describe('NOMOS /chat seeds a new durable session from client-held session_data', () => {
  it('starts at the client step with its history as memory, keeps its id, and the next decisions see it', async () => {
    h = await build({ script: SCRIPT });
    const first = await call(h.app, 'POST', '/chat', {
      user_input: 'A latte, please',
      session_data: { session_id: 'nomos-abc-1', current_step_id: 'greet', history: HISTORY, flow_state: null },
    });
    expect(first.res.statusCode).toBe(200);
    const body = NomosChatResponse.parse(first.body);
    expect(body.response).toMatchObject({ action: 'RESPOND', response: 'reply 0' });
    expect(body.session_data).toMatchObject({ session_id: 'nomos-abc-1', current_step_id: 'greet', flow_state: null });
    // The reply's history lists the turns Stepwise ran; the seeded context lives on as memory.
    expect(body.session_data.history.map((e) => ('type' in e ? [e.type, e.content] : e))).toEqual([
      ['user', 'A latte, please'],
      ['test-agent', 'reply 0'],
    ]);

    const [decide] = h.executors.decideRequests;
    expect(decide.stepId).toBe('greet');
    // User, agent reply (any other type), tool result verbatim, error as a note; step markers and `end` dropped.
    expect(texts(decide.messages.slice(1))).toEqual([
      'Hi, I want coffee',
      'Sure! Espresso or latte?',
      '[tool] Tool get_menu executed successfully with args {}.\nResults: espresso, latte',
      '[note] error: Invalid route: nowhere not in [order]',
      'A latte, please',
    ]);
    expect(decide.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'user', 'user']);
    expect(decide.messages[0].content).toContain('## Summary of earlier conversation\n- The user is called Ada\n- Ada likes oat milk');

    // The client sends back what it got: now Stepwise has the session, and the next decision still sees the seed.
    const second = await call(h.app, 'POST', '/chat', { user_input: 'With oat milk', session_data: first.body.session_data });
    expect(second.body.session_data.session_id).toBe('nomos-abc-1');
    const next = h.executors.decideRequests[1];
    expect(texts(next.messages)).toContain('Hi, I want coffee');
    expect(texts(next.messages).slice(-3)).toEqual(['A latte, please', 'reply 0', 'With oat milk']);
    const state = (await call(h.app, 'GET', '/sessions/nomos-abc-1')).body;
    expect(state).toMatchObject({ agentName: 'test-agent', stepId: 'greet', turns: 2, status: 'active' });
  });

  it('seeds the active flow with its flow memory (the model sees flow memory inside a flow)', async () => {
    h = await build({ script: SCRIPT });
    const { res, body } = await call(h.app, 'POST', '/chat', {
      user_input: 'And a muffin',
      session_data: {
        session_id: 'nomos-flow-1',
        current_step_id: 'order',
        history: [{ role: 'user', content: 'before the flow' }],
        flow_state: {
          flow_id: 'ordering',
          flow_context: { flow_id: 'ordering', entry_step: 'order' },
          flow_memory_context: [{ summary: ['Entered ordering to take a drink order'] }, { role: 'user', content: 'Two lattes' }, { step_id: 'order' }],
        },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(body.session_data).toMatchObject({ current_step_id: 'order', flow_state: { flow_id: 'ordering' } });
    expect((await call(h.app, 'GET', '/sessions/nomos-flow-1')).body).toMatchObject({ stepId: 'order', flowId: 'ordering' });
    const [decide] = h.executors.decideRequests;
    // Already inside the flow: no flow entry (no summarize call), and the prompt shows flow memory, not session memory.
    expect(h.executors.summarizeRequests).toHaveLength(0);
    expect(texts(decide.messages.slice(1))).toEqual(['Two lattes', 'And a muffin']);
    expect(decide.messages[0].content).toContain('- Entered ordering to take a drink order');

    // Without flow_state at a step that enters a flow, the flow is entered before the first decision (NOMOS), its
    // entry summary made from the seeded session memory.
    const entering = await call(h.app, 'POST', '/chat', {
      user_input: 'A tea',
      session_data: { session_id: 'nomos-flow-2', current_step_id: 'order', history: [{ role: 'user', content: 'I am Ada' }] },
    });
    expect(entering.body.session_data).toMatchObject({ current_step_id: 'order', flow_state: { flow_id: 'ordering' } });
    expect(h.executors.summarizeRequests).toHaveLength(1);
    expect(h.executors.summarizeRequests[0]).toMatchObject({ purpose: 'flow_enter', flowId: 'ordering' });
    expect(h.executors.summarizeRequests[0].items.map((i) => i.text)).toContain('I am Ada');
  });

  it('starts at the start step when current_step_id is absent, and gives a new id when the client has none or an invalid one', async () => {
    h = await build({ script: SCRIPT });
    const none = await call(h.app, 'POST', '/chat', { user_input: 'hello', session_data: { history: [{ role: 'user', content: 'earlier' }] } });
    expect(none.res.statusCode).toBe(200);
    expect(none.body.session_data.current_step_id).toBe('greet');
    expect(none.body.session_data.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const invalid = await call(h.app, 'POST', '/chat', { user_input: 'hello', session_data: { session_id: 'Barista Bot_1a2b c3', current_step_id: 'greet' } });
    expect(invalid.res.statusCode).toBe(200);
    expect(invalid.body.session_data.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(texts(h.executors.decideRequests[0].messages.slice(1))).toEqual(['earlier', 'hello']);
    // NOMOS's legacy form: the state fields under `state`.
    const legacy = await call(h.app, 'POST', '/chat', {
      user_input: 'legacy',
      session_data: { session_id: 'nomos-legacy', state: { current_step_id: 'checkout', history: [{ role: 'user', content: 'from state' }] } },
    });
    expect(legacy.body.session_data).toMatchObject({ session_id: 'nomos-legacy', current_step_id: 'checkout' });
    expect(texts(h.executors.decideRequests.at(-1)!.messages)).toContain('from state');
  });

  it('refuses an unknown step or flow with 400 naming it, and starts nothing', async () => {
    h = await build({ script: SCRIPT });
    const step = expectNomosError(
      await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 'nomos-bad-step', current_step_id: 'payment', history: [] } }),
      400,
      'INVALID_REQUEST',
    );
    expect(step.message).toContain('unknown step "payment"');
    expect(step.details).toEqual({ issues: [{ path: 'body.session_data.current_step_id', message: expect.stringContaining('greet, order, checkout, done') }] });
    const flow = expectNomosError(
      await call(h.app, 'POST', '/chat', {
        user_input: 'hi',
        session_data: { session_id: 'nomos-bad-flow', current_step_id: 'order', flow_state: { flow_id: 'billing', flow_context: { flow_id: 'billing' }, flow_memory_context: [] } },
      }),
      400,
      'INVALID_REQUEST',
    );
    expect(flow.message).toContain('unknown flow "billing"');
    for (const id of ['nomos-bad-step', 'nomos-bad-flow']) expectError(await call(h.app, 'GET', `/sessions/${id}`), 404, 'SESSION_NOT_FOUND');
    expect(h.executors.decideRequests).toHaveLength(0);
  });

  it('answers bad shapes with 400 and the failing paths', async () => {
    h = await build({ script: SCRIPT });
    const bad = expectNomosError(
      await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 'nomos-shape', history: [{ role: 'user', content: 'ok' }, { speaker: 'user', text: 'no' }, 42] } }),
      400,
      'INVALID_REQUEST',
    );
    const paths = (bad.details as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.session_data.history.1', 'body.session_data.history.2']));
    expect(bad.message).toContain('a history item is an event {type, content}');
    expectNomosError(await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { current_step_id: 7 } }), 400, 'INVALID_REQUEST');
    expectNomosError(await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { flow_state: { flow_memory_context: [] } } }), 400, 'INVALID_REQUEST');
    expectError(await call(h.app, 'GET', '/sessions/nomos-shape'), 404, 'SESSION_NOT_FOUND');
  });

  it('keeps the newest items within the memory limits from an oversized history, clips long items, never 5xx', async () => {
    // maxItems 5, everything kept visible in the window: the prompt shows exactly what memory kept.
    const agent = testAgent({ memory: { ...DEFAULT_MEMORY, maxItems: 5, recentItems: 50, recentChars: 1_000_000, retrieveK: 0 } });
    h = await build({ script: SCRIPT, agents: [agent] });
    const history = [
      ...Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'Barista' : 'user', content: `message ${i}` })),
      { role: 'user', content: 'x'.repeat(50_000) },
      ...Array.from({ length: 9 }, (_, i) => ({ summary: [`summary ${i}`] })),
    ];
    const { res } = await call(h.app, 'POST', '/chat', { user_input: 'now', session_data: { session_id: 'nomos-big', history } });
    expect(res.statusCode).toBe(200);
    const messages = texts(h.executors.decideRequests[0].messages);
    // The new message is remembered too: 5 items = the newest 4 seeded + it.
    expect(messages.slice(1, 4)).toEqual(['message 297', 'message 298', 'message 299']);
    expect(messages[4]).toHaveLength(4_000);
    expect(messages[4]).toMatch(/… \[truncated\]$/);
    expect(messages[5]).toBe('now');
    // The window shows the newest two of the newest five summaries kept.
    expect(messages[0]).toContain('- summary 7\n\n- summary 8');
    expect(messages[0]).not.toContain('summary 6');

    // Over the body limit: 413, not 5xx.
    const huge = { user_input: 'hi', session_data: { history: Array.from({ length: 4_000 }, () => ({ role: 'user', content: 'y'.repeat(100) })) } };
    expectNomosError(await call(h.app, 'POST', '/chat', huge), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('lets the durable state win for a session Stepwise has; after it ended, the client state goes on in a new one', async () => {
    h = await build({ script: [...SCRIPT.slice(0, 2), { action: 'END', response: 'bye' }] });
    const first = await call(h.app, 'POST', '/chat', { user_input: 'Hi' });
    const id = first.body.session_data.session_id;
    // A client that claims another step and another flow: ignored, the session's own state is used.
    const claimed = { session_id: id, current_step_id: 'nowhere', history: [{ role: 'user', content: 'forged' }], flow_state: { flow_id: 'ghost' } };
    const second = await call(h.app, 'POST', '/chat', { user_input: 'again', session_data: claimed });
    expect(second.res.statusCode).toBe(200);
    expect(second.body.session_data).toMatchObject({ session_id: id, current_step_id: 'greet', flow_state: null });
    expect(texts(h.executors.decideRequests[1].messages)).not.toContain('forged');
    const ended = await call(h.app, 'POST', '/chat', { user_input: 'bye', session_data: claimed });
    expect(ended.body.response.action).toBe('END');
    // The session ended; the client sends back what it holds: a new session (new id) goes on from it.
    const after = await call(h.app, 'POST', '/chat', { user_input: 'hello again?', session_data: ended.body.session_data });
    expect(after.res.statusCode).toBe(200);
    expect(after.body.session_data.session_id).not.toBe(id);
    expect(after.body.response.response).toBe('reply 0'); // the scripted model plays each session from its first entry
    expect((await call(h.app, 'GET', `/sessions/${id}`)).body.status).toBe('ended');
    const seededPrompt = texts(h.executors.decideRequests.at(-1)!.messages);
    expect(seededPrompt).toContain('again');
    expect(seededPrompt).toContain('hello again?');
    // NOMOS's session route goes on after END too: a continuation `<id>:1` seeded from the session's memory.
    const goesOn = await call(h.app, 'POST', `/session/${id}/message`, { content: 'still there?' });
    expect(goesOn.res.statusCode).toBe(200);
    expect(goesOn.body.session_id).toBe(id);
    expect((await call(h.app, 'GET', `/sessions/${id}:1`)).body).toMatchObject({ status: 'active', turns: 1 });
    expect(texts(h.executors.decideRequests.at(-1)!.messages)).toEqual(expect.arrayContaining(['again', 'still there?']));
  });

  it('gives a new id when the client id is only known to the archive (the workflow is gone)', async () => {
    const archive = new InMemoryArchiveStore();
    await archive.recordSessionStart({ sessionId: 'nomos-gone', agentName: 'test-agent', configHash: 'x', createdAt: '2026-01-01T00:00:00.000Z' });
    h = await build({ script: SCRIPT, app: { archive } });
    const { res, body } = await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 'nomos-gone', history: [] } });
    expect(res.statusCode).toBe(200);
    expect(body.session_data.session_id).not.toBe('nomos-gone');
    expect((await call(h.app, 'GET', `/sessions/${body.session_data.session_id}`)).body.status).toBe('active');
  });
});

describe('NOMOS /chat seeding under user binding', () => {
  it("gives a seeded session the caller's user; another user's session stays 404 and untouched", async () => {
    h = await build({ script: SCRIPT, app: { auth: boundAuth() } });
    const seeded = await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 'alice-nomos', current_step_id: 'order', history: HISTORY } }, 'alice-key');
    expect(seeded.res.statusCode).toBe(200);
    expect((await call(h.app, 'GET', '/sessions/alice-nomos', undefined, 'admin-key')).body).toMatchObject({ userId: 'alice', stepId: 'order', turns: 1 });

    // Bob cannot continue, nor re-seed, Alice's session: 404 as if it did not exist, and nothing runs.
    const decisions = h.executors.decideRequests.length;
    const err = expectNomosError(
      await call(h.app, 'POST', '/chat', { user_input: 'let me in', session_data: { session_id: 'alice-nomos', current_step_id: 'greet', history: [] } }, 'bob-key'),
      404,
      'SESSION_NOT_FOUND',
    );
    expect(err.message).toBe('session alice-nomos not found');
    expect(h.executors.decideRequests).toHaveLength(decisions);
    expect((await call(h.app, 'GET', '/sessions/alice-nomos', undefined, 'admin-key')).body.turns).toBe(1);

    // Bob's own unknown id seeds a session of his; Alice continues hers.
    const bobs = await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 'bob-nomos', history: [] } }, 'bob-key');
    expect(bobs.res.statusCode).toBe(200);
    expect((await call(h.app, 'GET', '/sessions/bob-nomos', undefined, 'admin-key')).body.userId).toBe('bob');
    const again = await call(h.app, 'POST', '/chat', { user_input: 'more', session_data: seeded.body.session_data }, 'alice-key');
    expect(again.body.session_data.session_id).toBe('alice-nomos');
    expect((await call(h.app, 'GET', '/sessions/alice-nomos', undefined, 'admin-key')).body.turns).toBe(2);
  });
});
