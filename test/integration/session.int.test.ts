/**
 * Session workflow against a live Temporal server (TEMPORAL_ADDRESS or TEMPORAL_CLI_PATH; see test/support/temporal.ts).
 *
 * Covers: a full conversation through the API's Temporal backend, duplicate message ids, a worker killed mid-turn
 * (the turn completes on a second worker and completed decisions are not re-run), the idle timeout, and a 3,000-turn
 * conversation crossing many continue-as-new boundaries with no lost or doubled message.
 *
 * With STEPWISE_RECORD_HISTORIES=1 the histories are written to test/fixtures/histories/ for the offline replay test.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { loadAgent, type LoadedAgent } from '../../src/config/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { getState, sessionWorkflowId } from '../../workflows/shared.js';
import { startTemporal, temporalTarget } from '../support/temporal.js';

const target = temporalTarget();
const RECORD = process.env.STEPWISE_RECORD_HISTORIES === '1';
const HISTORIES = join(import.meta.dirname, '..', 'fixtures', 'histories');

/** Writes an agent (YAML + script + tool module) to a temp dir and loads it. */
async function writeAgent(name: string, script: unknown[], session: Record<string, unknown> = {}): Promise<LoadedAgent> {
  const dir = mkdtempSync(join(tmpdir(), `stepwise-int-${name}-`));
  writeFileSync(join(dir, 'script.yaml'), stringify(script));
  writeFileSync(
    join(dir, 'tools.mjs'),
    `export const tools = [
  { name: 'slow', description: 'waits', parameters: { type: 'object', properties: { ms: { type: 'integer' } }, required: ['ms'] },
    async execute({ ms }, ctx) { await new Promise((r, j) => { const t = setTimeout(r, ms); ctx.signal.addEventListener('abort', () => { clearTimeout(t); j(new Error('aborted')); }); }); return { waited: ms }; } },
  { name: 'echo', description: 'echoes', parameters: { type: 'object', properties: { text: { type: 'string' } } },
    execute: ({ text }) => ({ echo: text }) },
];\n`,
  );
  writeFileSync(
    join(dir, 'agent.yaml'),
    stringify({
      name,
      persona: 'Integration test agent',
      start_step_id: 'chat',
      steps: [
        { step_id: 'chat', description: 'chat', routes: [{ target: 'work', condition: 'work' }], available_tools: ['echo'] },
        { step_id: 'work', description: 'work', routes: [{ target: 'chat', condition: 'done' }], available_tools: ['slow', 'echo'] },
      ],
      flows: [{ flow_id: 'working', enters: ['work'], exits: ['work'] }],
      llm: { provider: 'scripted', script: './script.yaml' },
      tools: { tool_files: ['./tools.mjs'] },
      session,
    }),
  );
  return loadAgent(join(dir, 'agent.yaml'));
}

if (target.kind === 'none') {
  describe('session workflow (live Temporal)', () => {
    it('needs a Temporal server', () => {
      throw new Error(target.reason);
    });
  });
} else {
  describe('session workflow (live Temporal)', () => {
    let env: TestWorkflowEnvironment;
    const taskQueue = `stepwise-int-${Date.now()}`;

    beforeAll(async () => {
      env = await startTemporal();
    });
    afterAll(async () => {
      await env?.teardown();
    });

    async function withWorker<T>(agents: LoadedAgent[], fn: (models: ModelCache) => Promise<T>, models = new ModelCache()): Promise<T> {
      const worker = await createSessionWorker({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, agents, models });
      return worker.runUntil(fn(models));
    }

    async function record(name: string, handle: WorkflowHandle): Promise<void> {
      if (!RECORD) return;
      mkdirSync(HISTORIES, { recursive: true });
      const history = await handle.fetchHistory();
      writeFileSync(join(HISTORIES, `v1-${name}.json`), JSON.stringify(history, null, 1));
    }

    it('holds a full conversation: move, tools, flow enter/exit, end', async () => {
      const agent = await writeAgent('full', [
        { action: 'RESPOND', response: 'hello' },
        { action: 'MOVE', step_id: 'work' },
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'a' } }, { tool: 'slow', arguments: { ms: 50 } }] },
        { action: 'RESPOND', response: 'worked' },
        { action: 'MOVE', step_id: 'chat' },
        { action: 'END', response: 'bye' },
      ]);
      const sessions = new TemporalSessions({ client: env.client, taskQueue });
      await withWorker([agent], async () => {
        await sessions.start(agent.snapshot, 'full-1');
        expect((await sessions.send('full-1', { messageId: 'm1', text: 'hi' })).reply).toBe('hello');
        const r2 = await sessions.send('full-1', { messageId: 'm2', text: 'do work' });
        expect(r2).toMatchObject({ reply: 'worked', stepId: 'work', flowId: 'working' });
        expect(r2.events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
        const r3 = await sessions.send('full-1', { messageId: 'm3', text: 'thanks' });
        expect(r3).toMatchObject({ reply: 'bye', ended: true });
        expect(r3.events.map((e) => e.type)).toContain('flow_exit');
        const handle = env.client.workflow.getHandle(sessionWorkflowId('full-1'));
        expect(await handle.result()).toMatchObject({ reason: 'end_action', turns: 3 });
        await expect(sessions.send('full-1', { messageId: 'm4', text: 'again?' })).rejects.toMatchObject({ code: 'SESSION_ENDED' });
        await record('flow-conversation', handle);
      });
    });

    it('runs a turn once per message id, even when the same id is sent concurrently and again later', async () => {
      const agent = await writeAgent('dup', [
        { action: 'RESPOND', response: 'first' },
        { action: 'RESPOND', response: 'second' },
      ]);
      const sessions = new TemporalSessions({ client: env.client, taskQueue });
      await withWorker([agent], async () => {
        await sessions.start(agent.snapshot, 'dup-1');
        const [a, b] = await Promise.all([
          sessions.send('dup-1', { messageId: 'same', text: 'hello' }),
          sessions.send('dup-1', { messageId: 'same', text: 'hello' }),
        ]);
        const c = await sessions.send('dup-1', { messageId: 'same', text: 'hello' });
        expect(a.reply).toBe('first');
        expect(b).toEqual(a);
        expect(c).toEqual(a);
        const state = await sessions.state('dup-1');
        expect(state.turns).toBe(1);
        expect((await sessions.send('dup-1', { messageId: 'other', text: 'next' })).reply).toBe('second');
      });
    });

    it('finishes a turn on another worker after the first dies mid-turn, without re-running completed decisions', async () => {
      const agent = await writeAgent('restart', [
        { action: 'MOVE', step_id: 'work' },
        { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 4000 } }] },
        { action: 'RESPOND', response: 'survived' },
      ]);
      const sessions = new TemporalSessions({ client: env.client, taskQueue });
      const modelsA = new ModelCache();
      const workerA: Worker = await createSessionWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        agents: [agent],
        models: modelsA,
        workerOptions: { shutdownGraceTime: '100ms' },
      });
      const runA = workerA.run();
      await sessions.start(agent.snapshot, 'restart-1');
      const pending = sessions.send('restart-1', { messageId: 'm1', text: 'work hard' });
      // Wait until the slow tool is running, then kill worker A.
      for (let i = 0; i < 100; i++) {
        const page = await sessions.events('restart-1', 0);
        if (page.events.some((e) => e.type === 'tool_call')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      workerA.shutdown();
      await runA;
      const modelsB = new ModelCache();
      const started = Date.now();
      const result = await withWorker([agent], () => pending, modelsB);
      expect(result.reply).toBe('survived');
      // Heartbeat timeout (20 s) notices the dead worker long before start-to-close (1 min).
      expect(Date.now() - started).toBeLessThan(45_000);
      const state = await sessions.state('restart-1');
      expect(state.turns).toBe(1);
      const handle = env.client.workflow.getHandle(sessionWorkflowId('restart-1'));
      const history = await handle.fetchHistory();
      const decides = history.events!.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'decide',
      );
      expect(decides).toHaveLength(3); // each decision scheduled once: none re-run on worker B
    });

    it('ends an idle session after its durable idle timeout', async () => {
      const agent = await writeAgent('idle', [{ action: 'RESPOND', response: 'hi' }], { idle_timeout: '3s' });
      const sessions = new TemporalSessions({ client: env.client, taskQueue });
      await withWorker([agent], async () => {
        await sessions.start(agent.snapshot, 'idle-1');
        await sessions.send('idle-1', { messageId: 'm1', text: 'hello' });
        const handle = env.client.workflow.getHandle(sessionWorkflowId('idle-1'));
        expect(await handle.result()).toMatchObject({ reason: 'idle_timeout', turns: 1 });
        expect((await handle.query(getState)).status).toBe('ended');
      });
    });

    it('holds 3,000 turns across continue-as-new boundaries with no lost or doubled message', async () => {
      const turns = 3000;
      const script = Array.from({ length: turns }, (_, i) => ({ action: 'RESPOND', response: `reply ${i}` }));
      const agent = await writeAgent('long', script, { max_turns_per_run: 250 });
      const sessions = new TemporalSessions({ client: env.client, taskQueue });
      await withWorker([agent], async () => {
        await sessions.start(agent.snapshot, 'long-1');
        // Batches of 5 concurrent messages, so some arrive while the workflow is continuing as new.
        const seenTurns = new Set<number>();
        for (let i = 0; i < turns; i += 5) {
          const batch = await Promise.all(
            [0, 1, 2, 3, 4].map((j) => sessions.send('long-1', { messageId: `m${i + j}`, text: `message ${i + j}` })),
          );
          batch.forEach((r, j) => {
            expect(r.messageId).toBe(`m${i + j}`);
            expect(seenTurns.has(r.turn)).toBe(false);
            seenTurns.add(r.turn);
          });
        }
        expect(seenTurns.size).toBe(turns);
        expect(Math.max(...seenTurns)).toBe(turns);
        const state = await sessions.state('long-1');
        expect(state.turns).toBe(turns);
        expect(state.run).toBeGreaterThanOrEqual(Math.floor(turns / 250));
        // Re-sending a recent id after continue-as-new returns the remembered result instead of a new turn.
        const again = await sessions.send('long-1', { messageId: `m${turns - 1}`, text: `message ${turns - 1}` });
        expect(again.messageId).toBe(`m${turns - 1}`);
        expect((await sessions.state('long-1')).turns).toBe(turns);
        if (RECORD) {
          // Record the first run (which ended in continue-as-new) for the replay test.
          const first = await env.client.workflow.list({ query: `WorkflowId = '${sessionWorkflowId('long-1')}'` });
          for await (const wf of first) {
            if (wf.status.name === 'CONTINUED_AS_NEW') {
              await record('continue-as-new', env.client.workflow.getHandle(wf.workflowId, wf.runId));
              break;
            }
          }
        }
      });
    });
  });
}
