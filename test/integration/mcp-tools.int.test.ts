/**
 * A model calls an MCP tool on Temporal's real dev server: the agent (YAML, loaded by the real loader) reaches the
 * reference MCP server `@modelcontextprotocol/server-everything` over streamable HTTP (NOMOS `@mcp/<url>` external
 * tool) and uses the `groq` provider preset pointed at the fake model server (official openai SDK), which decides
 * TOOL_CALL `everything__get-sum`, then RESPOND. The tool runs in the `runTool` activity; its result is recorded in
 * the turn's events and shown to the model in the next request.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { loadAgent, type LoadedAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { startEverythingHttp, type EverythingHttp } from '../support/mcp-everything.js';
import { connectTemporal } from '../support/temporal.js';

describe('MCP tools on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  let mcp: EverythingHttp;
  let models: FakeModelServer;
  let agent: LoadedAgent;
  const taskQueue = `stepwise-int-mcp-${process.pid}`;
  const sessionId = `mcp-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [env, mcp, models] = await Promise.all([connectTemporal(), startEverythingHttp(), startFakeModelServer()]);
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-int-mcp-'));
    writeFileSync(
      join(dir, 'agent.yaml'),
      stringify({
        name: 'mcp-int',
        start_step_id: 'start',
        steps: [{ step_id: 'start', description: 'Add numbers with the tools.', available_tools: ['everything'] }],
        llm: { provider: 'groq', model: 'llama-test', base_url: models.openaiBaseUrl },
        tools: { external_tools: [{ tag: `@mcp/${mcp.url}`, name: 'everything' }] },
      }),
    );
    agent = await loadAgent(join(dir, 'agent.yaml'));
  }, 60_000);

  afterAll(async () => {
    await agent?.tools.close();
    await Promise.all([mcp?.stop(), models?.close(), env?.teardown()]);
  });

  it('runs the MCP tool as an activity and shows its result to the model', async () => {
    expect(agent.snapshot.steps[0]!.tools).toContain('everything__get-sum');
    models.enqueue({ action: 'TOOL_CALL', tool_calls: [{ tool: 'everything__get-sum', arguments: { a: 19, b: 23 } }] });
    models.enqueue({ action: 'RESPOND', response: 'The sum is 42.' });
    const sessions = new TemporalSessions({ client: env.client, taskQueue });
    const worker = await createSessionWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      agents: [agent],
      models: new ModelCache({ env: { GROQ_API_KEY: 'groq-test-key' } }),
      log: () => {},
    });
    const result = await worker.runUntil(async () => {
      await sessions.start(agent.snapshot, sessionId);
      return sessions.send(sessionId, { messageId: 'm1', text: 'what is 19 + 23?' });
    });
    expect(result.reply).toBe('The sum is 42.');
    const toolResult = result.events.find((e) => e.type === 'tool_result');
    expect(toolResult).toMatchObject({ tool: 'everything__get-sum' });
    expect(JSON.stringify(toolResult)).toContain('42');
    expect(models.requests).toHaveLength(2);
    expect(models.requests[0]!.headers.authorization).toBe('Bearer groq-test-key');
    expect(JSON.stringify(models.requests[1]!.body.messages)).toContain('42');
  }, 60_000);
});
