/**
 * Cancelled activities report the cancellation, not a provider or tool failure: the real OpenAI and Anthropic SDKs
 * against the fake model server (a response delayed past the cancel), and a tool honouring its abort signal, run in
 * `@temporalio/testing`'s MockActivityEnvironment and cancelled mid-call.
 */
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { ToolRegistry } from '../../activities/tools.js';
import { testAgent } from '../support/agents.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { sampleDecideRequest } from '../support/model-requests.js';

let server: FakeModelServer;
beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server?.close();
});

describe('activity cancellation', () => {
  it.each(['openai', 'anthropic'] as const)('decide through the %s SDK: a cancel mid-request is a CancelledFailure', async (provider) => {
    const llm =
      provider === 'openai'
        ? ({ provider, model: 'gpt-test', baseUrl: server.openaiBaseUrl, apiKeyEnv: 'K' } as const)
        : ({ provider, model: 'claude-test', baseUrl: server.anthropicBaseUrl, apiKeyEnv: 'K' } as const);
    const activities = createActivities({ models: new ModelCache({ env: { K: 'sk-test' } }), tools: new Map() });
    server.enqueue({ decision: { action: 'RESPOND', response: 'too late' }, delayMs: 2_000 });
    const env = new MockActivityEnvironment();
    const running = env.run(activities.decide, sampleDecideRequest(llm));
    setTimeout(() => env.cancel(), 200);
    const err = await running.catch((e) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
  });

  // Tools already reported cancellation (the registry rethrows the signal's reason): kept as a guard beside decide.
  it('runTool: a tool that stops on its abort signal is a CancelledFailure, not a tool error', async () => {
    const agent = testAgent();
    const registry = new ToolRegistry([
      {
        name: 'add_item',
        description: 'waits for its signal',
        parameters: { type: 'object', properties: {} },
        execute: (_args: unknown, ctx: { signal: AbortSignal }) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted by signal')))),
      },
    ] as never);
    const activities = createActivities({ models: new ModelCache(), tools: new Map([[agent.name, registry]]) });
    const env = new MockActivityEnvironment();
    const running = env.run(activities.runTool, { agentName: agent.name, sessionId: 's', callId: 'c1', tool: 'add_item', arguments: {} } as never);
    setTimeout(() => env.cancel(), 100);
    expect(await running.catch((e) => e)).toBeInstanceOf(CancelledFailure);
  });
});
