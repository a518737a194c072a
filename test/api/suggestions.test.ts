/** Quick suggestions (CONTRACTS.md): a `quick_suggestions` step's RESPOND carries `suggestions` through the REST API. */
import { afterEach, describe, expect, it } from 'vitest';
import { step, testAgent } from '../support/agents.js';
import { build, call, type Harness } from '../support/api.js';

let h: Harness;
afterEach(async () => {
  await h?.app.close();
});

describe('suggestions in the API', () => {
  it('POST /sessions and POST /sessions/:id/messages return the turn suggestions; the reply event has them', async () => {
    const agent = testAgent({ steps: [step('greet', { quickSuggestions: true })], flows: [] });
    h = await build({
      agents: [agent],
      script: [
        { action: 'RESPOND', response: 'Coffee or tea?', suggestions: ['Coffee', 'Tea'] },
        { action: 'RESPOND', response: 'Tea it is.' },
      ],
    });
    const first = await call(h.app, 'POST', '/sessions', { agentId: agent.name, sessionId: 's-q', message: 'hi' });
    expect(first.res.statusCode).toBe(201);
    expect(first.body).toMatchObject({ reply: 'Coffee or tea?', suggestions: ['Coffee', 'Tea'] });
    expect(first.body.events.find((e: { type: string }) => e.type === 'reply')).toMatchObject({ suggestions: ['Coffee', 'Tea'] });
    const second = await call(h.app, 'POST', '/sessions/s-q/messages', { text: 'Tea' });
    expect(second.res.statusCode).toBe(200);
    expect(second.body.reply).toBe('Tea it is.');
    expect(second.body).not.toHaveProperty('suggestions');
  });
});
