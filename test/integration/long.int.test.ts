/**
 * 3,000 turns in one session on the real Temporal dev server, across many continue-as-new boundaries, with messages
 * arriving while runs close: none lost, none doubled, and recent ids still recognised after the boundary.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { createSessionWorker } from '../../workers/worker.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

describe('a long conversation on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-long-${process.pid}`;
  const sessionId = `long-${Date.now().toString(36)}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('holds 3,000 turns across continue-as-new boundaries with no lost or doubled message', async () => {
    const turns = 3000;
    const perRun = 250;
    const agent = await writeAgent('long', responses(turns), { max_turns_per_run: perRun });
    const sessions = new TemporalSessions({ client: env.client, taskQueue });
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    await worker.runUntil(async () => {
      await sessions.start(agent.snapshot, sessionId);
      // Batches of 5 concurrent messages, so some arrive while a run is continuing as new.
      const seen = new Map<number, string>();
      for (let i = 0; i < turns; i += 5) {
        const batch = await Promise.all(
          [0, 1, 2, 3, 4].map((j) => sessions.send(sessionId, { messageId: `m${i + j}`, text: `message ${i + j}` })),
        );
        batch.forEach((r, j) => {
          expect(r.messageId).toBe(`m${i + j}`);
          expect(r.turn).toBe(i + j + 1); // arrival order, nothing doubled or skipped
          expect(r.reply).toBe(`reply ${i + j}`);
          seen.set(r.turn, r.messageId);
        });
      }
      expect(seen.size).toBe(turns);
      const state = await sessions.state(sessionId);
      expect(state.turns).toBe(turns);
      expect(state.run).toBeGreaterThanOrEqual(turns / perRun);
      // Re-sending a recent id after continue-as-new returns the remembered result instead of running a new turn.
      const again = await sessions.send(sessionId, { messageId: `m${turns - 1}`, text: `message ${turns - 1}` });
      expect(again).toMatchObject({ messageId: `m${turns - 1}`, turn: turns });
      expect((await sessions.state(sessionId)).turns).toBe(turns);

    });
  }, 900_000);
});
