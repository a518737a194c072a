/**
 * NOMOS's server API (`/session`, `/session/{id}/message`, `/session/{id}/history`, `DELETE /session/{id}`, the
 * stateless `/chat`, `/auth/token`) over the same durable sessions, with NOMOS's request and response shapes.
 */
import { jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { NomosChatResponse, NomosHistoryResponse, NomosSessionResponse } from '../../api/routes/nomos-shapes.js';
import { nomosOptionsFromEnv } from '../../api/routes/nomos.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { testAgent } from '../support/agents.js';
import { build, call, expectNomosError, type Harness } from '../support/api.js';
import { type ScriptEntry, scriptedExecutors } from '../support/scripted-executors.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const SCRIPT: ScriptEntry[] = [
  { action: 'RESPOND', response: 'Welcome! What would you like?', reasoning: ['greet the user'] },
  { action: 'MOVE', step_id: 'order' },
  { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }] },
  { action: 'RESPOND', response: 'One latte added.' },
  { action: 'END', response: 'Bye!' },
];

/** The app over LocalSessions whose `add_item` tool answers `{added: item}`. */
async function serve(options: { agents?: ReturnType<typeof testAgent>[]; nomos?: object } = {}) {
  const exec = scriptedExecutors(SCRIPT, { add_item: (args) => ({ added: args.item }) });
  const backend = new LocalSessions({ executors: () => exec, now: exec.now });
  return build({ backend, agents: options.agents, app: { nomos: options.nomos } });
}

describe('NOMOS session routes', () => {
  it('POST /session?initiate=true opens with the agent; messages, history and DELETE in NOMOS shapes', async () => {
    h = await serve();
    const created = await call(h.app, 'POST', '/session?initiate=true');
    expect(created.res.statusCode).toBe(200);
    expect(NomosSessionResponse.parse(created.body)).toBeTruthy();
    const id = created.body.session_id;
    expect(created.body.message).toEqual({
      reasoning: ['greet the user'],
      action: 'RESPOND',
      response: 'Welcome! What would you like?',
      suggestions: null,
      step_id: null,
      tool_call: null,
    });

    const sent = await call(h.app, 'POST', `/session/${id}/message`, { content: 'A latte please' });
    expect(sent.res.statusCode).toBe(200);
    expect(sent.body).toMatchObject({ session_id: id, message: { action: 'RESPOND', response: 'One latte added.' } });

    const history = await call(h.app, 'GET', `/session/${id}/history`);
    expect(NomosHistoryResponse.parse(history.body).session_id).toBe(id);
    // Session memory only, as NOMOS: the move entered flow `ordering`, so the tool event and the reply after it are
    // flow memory and not listed here.
    expect(history.body.history.map((e: { type: string; content: string }) => [e.type, e.content])).toEqual([
      ['test-agent', 'Welcome! What would you like?'],
      ['user', 'A latte please'],
    ]);
    expect(history.body.history[0].decision.action).toBe('RESPOND');
    expect(history.body.history[1].decision).toBeNull();

    const ended = await call(h.app, 'DELETE', `/session/${id}`);
    expect(ended.body).toEqual({ message: 'Session ended successfully' });
    expect((await call(h.app, 'GET', `/sessions/${id}`)).body.status).toBe('ended');
    // NOMOS removes a deleted session: later calls are 404 (Stepwise's own routes still read it).
    expectNomosError(await call(h.app, 'POST', `/session/${id}/message`, { content: 'hello?' }), 404, 'SESSION_NOT_FOUND');
    expectNomosError(await call(h.app, 'GET', `/session/${id}/history`), 404, 'SESSION_NOT_FOUND');
    expectNomosError(await call(h.app, 'DELETE', `/session/${id}`), 404, 'SESSION_NOT_FOUND');
  });

  it('POST /session without initiate; unknown sessions are 404; bad bodies 400', async () => {
    h = await serve();
    const created = await call(h.app, 'POST', '/session');
    expect(created.body).toEqual({ session_id: expect.any(String), message: { status: 'Session created successfully' } });
    expect(h.executors.decideRequests).toHaveLength(0);
    expectNomosError(await call(h.app, 'POST', '/session/nope/message', { content: 'hi' }), 404, 'SESSION_NOT_FOUND');
    expectNomosError(await call(h.app, 'GET', '/session/nope/history'), 404, 'SESSION_NOT_FOUND');
    expectNomosError(await call(h.app, 'DELETE', '/session/nope'), 404, 'SESSION_NOT_FOUND');
    expectNomosError(await call(h.app, 'POST', `/session/${created.body.session_id}/message`, { content: '' }), 400, 'INVALID_REQUEST');
    expectNomosError(await call(h.app, 'POST', '/session?initiate=maybe'), 400, 'INVALID_REQUEST');
  });

  it('picks the agent: ?agent=, the configured default, else the only one; several and none named is 400', async () => {
    const other = testAgent({ name: 'other-agent' });
    h = await serve({ agents: [testAgent(), other] });
    expectNomosError(await call(h.app, 'POST', '/session'), 400, 'INVALID_REQUEST');
    expectNomosError(await call(h.app, 'POST', '/session?agent=ghost'), 404, 'AGENT_NOT_FOUND');
    const named = await call(h.app, 'POST', '/session?agent=other-agent');
    expect((await call(h.app, 'GET', `/sessions/${named.body.session_id}`)).body.agentName).toBe('other-agent');
    await h.app.close();
    h = await serve({ agents: [testAgent(), other], nomos: { agentId: 'other-agent' } });
    const byDefault = await call(h.app, 'POST', '/session');
    expect((await call(h.app, 'GET', `/sessions/${byDefault.body.session_id}`)).body.agentName).toBe('other-agent');
  });
});

describe('NOMOS stateless /chat', () => {
  it('starts a session without session_data, then continues the one session_data names', async () => {
    h = await serve();
    const first = await call(h.app, 'POST', '/chat', { user_input: 'Hi' });
    expect(first.res.statusCode).toBe(200);
    const body = NomosChatResponse.parse(first.body);
    expect(body.response).toMatchObject({ action: 'RESPOND', response: 'Welcome! What would you like?' });
    expect(body.tool_output).toBeNull();
    expect(body.session_data).toMatchObject({ current_step_id: 'greet', flow_state: null });
    expect(body.session_data.history.map((e) => ('type' in e ? e.type : e))).toEqual(['user', 'test-agent']);

    // The client sends back what it got; the durable session holds the real state.
    const second = await call(h.app, 'POST', '/chat', { user_input: 'A latte', session_data: first.body.session_data });
    expect(second.body.response.response).toBe('One latte added.');
    expect(second.body.tool_output).toBe('{"added":"latte"}'); // NOMOS's Optional[str]: JSON for a non-string result
    // NOMOS's state: session memory with a step marker, the open flow's memory (entry summary, the triggering
    // message, the tool event in NOMOS's words, the reply), FlowContext with its entry step; no decisions anywhere.
    const at = expect.any(String);
    expect(second.body.session_data).toEqual({
      session_id: body.session_data.session_id,
      current_step_id: 'order',
      history: [
        { timestamp: at, type: 'user', content: 'Hi' },
        { timestamp: at, type: 'test-agent', content: 'Welcome! What would you like?' },
        { timestamp: at, type: 'user', content: 'A latte' },
        { step_id: 'order' },
      ],
      flow_state: {
        flow_id: 'ordering',
        flow_context: { flow_id: 'ordering', entry_step: 'order', previous_context: null, metadata: {} },
        flow_memory_context: [
          { summary: ['summary(flow_enter ordering): Hi | Welcome! What would you like? | A latte'] },
          { timestamp: at, type: 'user', content: 'A latte' },
          { timestamp: at, type: 'tool', content: 'Tool add_item executed successfully with args {"item":"latte"}.\nResults: {"added":"latte"}' },
          { timestamp: at, type: 'test-agent', content: 'One latte added.' },
        ],
      },
    });

    const bye = await call(h.app, 'POST', '/chat', { user_input: 'bye', session_data: second.body.session_data });
    expect(bye.body.response).toMatchObject({ action: 'END', response: 'Bye!' });
    expect(bye.body.session_data.history.at(-1)).toMatchObject({ type: 'end', content: 'Session ended.' });
  });

  it('opens with the agent when neither user_input nor session_data is given; refuses what it cannot honour', async () => {
    h = await serve();
    const opened = await call(h.app, 'POST', '/chat', {});
    expect(opened.body.response.response).toBe('Welcome! What would you like?');
    expect(opened.body.session_data.history.map((e: { type: string }) => e.type)).toEqual(['test-agent']);
    expectNomosError(await call(h.app, 'POST', '/chat', { session_data: opened.body.session_data }), 400, 'INVALID_REQUEST');
    // A session Stepwise does not have is seeded from session_data (test/api/nomos-chat-seed.test.ts), not refused.
    const unknown = { session_id: 'not-here', current_step_id: 'nowhere', history: [] };
    expect(expectNomosError(await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: unknown }), 400, 'INVALID_REQUEST').message).toContain('nowhere');
    expectNomosError(await call(h.app, 'POST', '/chat', { user_input: 'hi', session_data: { session_id: 42 } }), 400, 'INVALID_REQUEST');
  });
});

describe('NOMOS /auth/token', () => {
  const secret = 's'.repeat(40);

  it('is 404 NOT_FOUND unless a secret is configured', async () => {
    h = await serve();
    const err = expectNomosError(await call(h.app, 'POST', '/auth/token', { sub: 'alice' }), 404, 'NOT_FOUND');
    expect(err.message).toContain('STEPWISE_NOMOS_TOKEN_SECRET');
  });

  it('issues an HS256 bearer token for the payload subject with client scopes only', async () => {
    h = await serve({ nomos: nomosOptionsFromEnv({ STEPWISE_NOMOS_TOKEN_SECRET: secret, STEPWISE_NOMOS_TOKEN_TTL: '600', STEPWISE_NOMOS_TOKEN_ISSUER: 'stepwise' }) });
    const { res, body } = await call(h.app, 'POST', '/auth/token', { user_id: 'alice', scope: 'admin' });
    expect(res.statusCode).toBe(200);
    expect(body.token_type).toBe('bearer');
    const { payload, protectedHeader } = await jwtVerify(body.access_token, new TextEncoder().encode(secret), { issuer: 'stepwise' });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'alice', scope: 'sessions:read sessions:write', iss: 'stepwise' });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('rejects a short secret or a bad TTL at start (INVALID_CONFIG)', () => {
    expect(() => nomosOptionsFromEnv({ STEPWISE_NOMOS_TOKEN_SECRET: 'short' })).toThrow(/32 characters/);
    expect(() => nomosOptionsFromEnv({ STEPWISE_NOMOS_TOKEN_SECRET: secret, STEPWISE_NOMOS_TOKEN_TTL: '-1' })).toThrow(/TTL/);
    expect(nomosOptionsFromEnv({})).toEqual({});
  });
});
