/**
 * Sessions that never die, with big tool outputs, on the real Temporal dev server: 100 turns that each call a tool
 * returning 1 MB, across several continue-as-new boundaries. Every turn's update result still carries its full tool
 * output, and so does the archive; what the session carries (continue-as-new input) and answers to queries stays
 * bounded, far under Temporal's 2 MB payload limit (https://docs.temporal.io/workflows#limits).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { loadAgent, type LoadedAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { sessionWorkflowId } from '../../workflows/shared.js';
import { connectTemporal } from '../support/temporal.js';

/** Characters of the `big` tool's output: half of Temporal's 2 MB payload limit. */
const BIG = 1_000_000;
/** Temporal's default payload size limit (`limit.blobSize.error`), in bytes. */
const PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** Writes and loads a one-step agent whose only tool, `big`, returns {@link BIG} characters (the shape of `writeAgent`). */
async function writeBigAgent(name: string, script: unknown[], session: Record<string, unknown>): Promise<LoadedAgent> {
  const dir = mkdtempSync(join(tmpdir(), `stepwise-int-${name}-`));
  writeFileSync(join(dir, 'script.yaml'), stringify(script));
  writeFileSync(
    join(dir, 'tools.mjs'),
    `export const tools = [{ name: 'big', description: 'returns ${BIG} characters', parameters: { type: 'object', properties: {} }, execute() { return 'x'.repeat(${BIG}); } }];\n`,
  );
  writeFileSync(
    join(dir, 'agent.yaml'),
    stringify({
      name,
      persona: 'Integration test agent with a big tool',
      start_step_id: 'chat',
      steps: [{ step_id: 'chat', description: 'chat', available_tools: ['big'] }],
      llm: { provider: 'scripted', script: './script.yaml' },
      tools: { tool_files: ['./tools.mjs'] },
      session,
    }),
  );
  return loadAgent(join(dir, 'agent.yaml'));
}

describe('big tool outputs on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-big-${process.pid}`;
  const sessionId = `big-${Date.now().toString(36)}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs 100 turns with 1 MB tool outputs across continue-as-new, keeping carried state and queries small', async () => {
    const turns = 100;
    const script = Array.from({ length: turns }, (_, i) => [
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'big', arguments: {} }] },
      { action: 'RESPOND', response: `ok ${i}` },
    ]).flat();
    const agent = await writeBigAgent('big', script, { max_turns_per_run: 10 });
    const archive = new InMemoryArchiveStore();
    // A stuck run (continue-as-new input over the payload limit) fails the test in 30 s instead of hanging on it.
    const sessions = new TemporalSessions({ client: env.client, taskQueue, turnTimeoutMs: 30_000 });
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], archive, models: new ModelCache(), log: () => {} });
    await worker.runUntil(async () => {
      await sessions.start(agent.snapshot, sessionId);
      for (let i = 0; i < turns; i++) {
        const result = await sessions.send(sessionId, { messageId: `m${i}`, text: `message ${i}` });
        expect(result).toMatchObject({ messageId: `m${i}`, turn: i + 1, reply: `ok ${i}` });
        // The caller gets the turn's full tool output.
        const output = result.events.find((e) => e.type === 'tool_result');
        expect(output?.type === 'tool_result' && output.result).toBe('x'.repeat(BIG));
      }

      // Ten runs in a few seconds: the server delays each new run's first workflow task to keep continue-as-new at
      // most once per `history.workflowIdReuseMinimalInterval` (1 s), and the delay adds up when messages start runs
      // early (seen: 27 s for the 11th run); reads answer TEMPORAL_UNAVAILABLE until the run has started.
      let state = await sessions.state(sessionId).catch(() => undefined);
      for (const deadline = Date.now() + 90_000; !state && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 500));
        state = await sessions.state(sessionId).catch(() => undefined);
      }
      if (!state) throw new Error(`session ${sessionId} did not answer a read within 90 s of its last turn`);
      expect(state).toMatchObject({ status: 'active', turns });
      expect(state.run).toBeGreaterThanOrEqual(5);
      // The current run's input is the last continue-as-new input: the carried state, far under the payload limit.
      const started = (await env.client.workflow.getHandle(sessionWorkflowId(sessionId)).fetchHistory()).events?.[0];
      const input = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const inputBytes = input.reduce((n, p) => n + (p.data?.length ?? 0), 0);
      expect(inputBytes).toBeGreaterThan(0);
      expect(inputBytes).toBeLessThan(PAYLOAD_LIMIT_BYTES / 2);

      // Queries answer with bounded payloads: kept events show the clip marker instead of the 1 MB output.
      const history = await sessions.history(sessionId);
      expect(history.turns.at(-1)?.messageId).toBe(`m${turns - 1}`);
      expect(Buffer.byteLength(JSON.stringify(history))).toBeLessThan(PAYLOAD_LIMIT_BYTES / 2);
      const events = await sessions.events(sessionId, 0);
      expect(Buffer.byteLength(JSON.stringify(events))).toBeLessThan(PAYLOAD_LIMIT_BYTES / 2);
      expect(events.events.find((e) => e.type === 'tool_result')).toMatchObject({ result: { clipped: true, bytes: BIG + 2 } });
      console.log(
        `100 turns of 1 MB tool outputs: ${state.run} runs, last continue-as-new input ${inputBytes} bytes, ` +
          `getHistory ${Buffer.byteLength(JSON.stringify(history))} bytes, getEvents ${Buffer.byteLength(JSON.stringify(events))} bytes`,
      );

      // The archive received every turn with its full output.
      const archived = await archive.getTurns(sessionId, { limit: 100 });
      expect(archived.turns.map((t) => t.turn)).toEqual(Array.from({ length: turns }, (_, i) => i + 1));
      const last = archived.turns.at(-1)?.events.find((e) => e.type === 'tool_result');
      expect(last?.type === 'tool_result' && last.result).toBe('x'.repeat(BIG));
    });
  }, 180_000);
});
