/**
 * Sessions that never die, on the real Temporal dev server: an archive outage (writes failing as PostgreSQL's store
 * fails, ARCHIVE_UNAVAILABLE) neither fails nor stops a conversation and loses no turn, across continue-as-new; the
 * memo keeps the current step across continue-as-new; the idle timer does not end a busy session; and the history a
 * one-decision turn writes (≤ 20 events with the archive on, fewer with it off).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import type { ArchiveStore } from '../../src/archive/store.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import { SystemError } from '../../src/errors.js';
import { sessionWorkflowId } from '../../workflows/shared.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { connectTemporal, withSessionWorker } from '../support/temporal.js';

/** The in-memory archive whose writes fail like an unreachable PostgreSQL while `down` is set. */
function outageArchive(): { store: ArchiveStore; inner: InMemoryArchiveStore; setDown(down: boolean): void } {
  const inner = new InMemoryArchiveStore();
  let down = false;
  const guard = <A extends unknown[]>(fn: (...args: A) => Promise<void>) => async (...args: A) => {
    if (down) throw new SystemError('ARCHIVE_UNAVAILABLE', 'archive database unreachable (test outage)');
    return fn(...args);
  };
  const store: ArchiveStore = Object.assign(Object.create(inner) as ArchiveStore, {
    recordSessionStart: guard(inner.recordSessionStart.bind(inner)),
    recordTurn: guard(inner.recordTurn.bind(inner)),
    recordSessionEnd: guard(inner.recordSessionEnd.bind(inner)),
  });
  return { store, inner, setDown: (d) => (down = d) };
}

describe('durable sessions on the real Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  const taskQueue = `stepwise-int-durable-${process.pid}`;
  const run = Date.now().toString(36);
  const sid = (name: string) => `${name}-${run}`;

  beforeAll(async () => {
    env = await connectTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  const withWorker = <T>(agents: LoadedAgent[], archive: ArchiveStore | undefined, fn: (sessions: TemporalSessions) => Promise<T>) =>
    withSessionWorker(env, { taskQueue, agents, archive }, fn);

  it('keeps talking through an archive outage and archives every turn, in order, once it is back', async () => {
    const agent = await writeAgent('outage', responses(10), { max_turns_per_run: 2 });
    const archive = outageArchive();
    const id = sid('outage');
    await withWorker([agent], archive.store, async (sessions) => {
      archive.setDown(true); // down from the very first write (session start)
      await sessions.start(agent.snapshot, id);
      for (let i = 0; i < 5; i++) {
        expect((await sessions.send(id, { messageId: `m${i}`, text: `message ${i}` })).reply).toBe(`reply ${i}`);
      }
      const state = await sessions.state(id);
      expect(state).toMatchObject({ status: 'active', turns: 5 });
      expect(state.run).toBeGreaterThanOrEqual(2); // unarchived writes were carried across continue-as-new
      expect(await archive.inner.getSession(id)).toBeNull();

      archive.setDown(false);
      expect((await sessions.send(id, { messageId: 'm5', text: 'message 5' })).reply).toBe('reply 5');
      // Archived before the reply (since `no-local-activities` the write is a regular activity the reply waits for).
      const turns = await archive.inner.getTurns(id, { limit: 100 });
      expect(turns.turns.map((t) => t.turn)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await archive.inner.getSession(id)).toMatchObject({ sessionId: id, status: 'active' });

      // Down again, and the session ends meanwhile: its last turn and its end still reach the archive when it is back.
      archive.setDown(true);
      expect((await sessions.send(id, { messageId: 'm6', text: 'message 6' })).reply).toBe('reply 6');
      expect(await sessions.end(id)).toMatchObject({ status: 'ended', turns: 7 });
      archive.setDown(false);
      await env.client.workflow.getHandle(sessionWorkflowId(id)).result(); // closes once the archive took the writes
      expect((await archive.inner.getTurns(id, { limit: 100 })).turns.map((t) => t.turn)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(await archive.inner.getSession(id)).toMatchObject({ sessionId: id, status: 'ended' });
    });
  }, 120_000);

  it('answers a message from the session while the archive has not got its turn, past the newest 20 results and its run; archives it once back, idle', async () => {
    const agent = await writeAgent('outage-results', responses(30), { max_turns_per_run: 5 });
    const archive = outageArchive();
    const id = sid('outage-results');
    await withWorker([agent], archive.store, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      expect((await sessions.send(id, { messageId: 'm0', text: 'message 0' })).reply).toBe('reply 0');
      archive.setDown(true); // m1's turn and the 20 after it wait for the archive
      for (let i = 1; i <= 21; i++) await sessions.send(id, { messageId: `m${i}`, text: `message ${i}` });
      expect((await sessions.state(id)).run).toBeGreaterThanOrEqual(4); // m1 ran three runs ago and left the newest 20
      expect(await sessions.turnResult(id, 'm1')).toMatchObject({ status: 'done', result: { messageId: 'm1', reply: 'reply 1', turn: 2 } });
      expect(await sessions.send(id, { messageId: 'm1', text: 'message 1' })).toMatchObject({ reply: 'reply 1', turn: 2 });
      // m0 is archived: its answer comes from there (the API reads the archive on MESSAGE_ALREADY_ANSWERED / 'answered').
      expect(await sessions.turnResult(id, 'm0')).toEqual({ status: 'answered', turn: 1 });

      // Back, and no further message: the session retries its kept writes on timers (patch `archive-retry-while-idle`,
      // 5 s after the last attempt, doubling while idle), so its archive catches up without waiting for a turn.
      archive.setDown(false);
      const archived = async () => (await archive.inner.getTurns(id, { limit: 100 })).turns.map((t) => t.messageId);
      for (let waited = 0; (await archived()).length < 22 && waited < 30_000; waited += 250) await new Promise((r) => setTimeout(r, 250));
      expect(await archived()).toEqual(Array.from({ length: 22 }, (_, i) => `m${i}`));
      expect(await sessions.turnResult(id, 'm1')).toEqual({ status: 'answered', turn: 2 });
      expect((await sessions.send(id, { messageId: 'm22', text: 'message 22' })).turn).toBe(23);
      expect((await sessions.state(id)).turns).toBe(23); // no message ran twice
    });
  }, 180_000);

  it('never runs a second turn for an old message id, across continue-as-new and past the newest 20 results', async () => {
    const agent = await writeAgent('old-ids', responses(40), { max_turns_per_run: 5 });
    const id = sid('old-ids');
    await withWorker([agent], undefined, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      for (let i = 0; i < 30; i++) await sessions.send(id, { messageId: `m${i}`, text: `message ${i}` });
      expect((await sessions.state(id)).run).toBeGreaterThanOrEqual(5);
      const retry = await sessions.send(id, { messageId: 'm0', text: 'message 0' }).catch((e) => e);
      expect(retry).toMatchObject({ code: 'MESSAGE_ALREADY_ANSWERED', details: { turn: 1 } });
      await sessions.post(id, { messageId: 'm1', text: 'message 1' }); // a retried signal is ignored too
      expect((await sessions.send(id, { messageId: 'm25', text: 'message 25' })).turn).toBe(26); // still held in full
      expect((await sessions.send(id, { messageId: 'new', text: 'new' })).turn).toBe(31);
      expect((await sessions.state(id)).turns).toBe(31);
    });
  });

  it('keeps the current step in the memo across continue-as-new', async () => {
    const agent = await writeAgent('memo', [{ action: 'MOVE', step_id: 'work' }, { action: 'RESPOND', response: 'at work' }], { max_turns_per_run: 1 });
    const id = sid('memo');
    await withWorker([agent], undefined, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      await sessions.send(id, { messageId: 'm1', text: 'go to work' });
      const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
      for (let i = 0; i < 100 && (await sessions.state(id)).run < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await sessions.state(id)).run).toBe(2); // the new run has had no turn yet
      const description = await handle.describe();
      expect(description.memo).toMatchObject({ stepId: 'work', turns: 1 });
    });
  });

  it('does not end a session that keeps talking, and ends it after the idle timeout', async () => {
    const agent = await writeAgent('busy', responses(10), { idle_timeout: '2s' });
    const id = sid('busy');
    await withWorker([agent], undefined, async (sessions) => {
      await sessions.start(agent.snapshot, id);
      for (let i = 0; i < 5; i++) {
        await sessions.send(id, { messageId: `m${i}`, text: 'still here' });
        await new Promise((r) => setTimeout(r, 800)); // 4 s in all, never 2 s idle
      }
      expect((await sessions.state(id)).status).toBe('active');
      expect(await env.client.workflow.getHandle(sessionWorkflowId(id)).result()).toMatchObject({ reason: 'idle_timeout', turns: 5 });
    });
  });

  // Since `no-local-activities` (regular activities, docs/chaos.md) a one-decision turn is three workflow tasks (3
  // events each): one accepts the update (1) and schedules `decide` (3), one schedules `archiveTurn` (3), one answers
  // the update (1) and upserts the memo (1). Measured 18 with the archive on and 12 off (13 and 9 with local ones).
  it('writes at most 20 history events per one-decision turn with the archive on (fewer with it off)', async () => {
    const perTurn = async (name: string, archive: ArchiveStore | undefined): Promise<number> => {
      const agent = await writeAgent(name, responses(30));
      const id = sid(name);
      return withWorker([agent], archive, async (sessions) => {
        await sessions.start(agent.snapshot, id);
        const handle = env.client.workflow.getHandle(sessionWorkflowId(id));
        for (let i = 0; i < 5; i++) await sessions.send(id, { messageId: `w${i}`, text: 'warm up' });
        const before = (await handle.describe()).historyLength;
        for (let i = 0; i < 20; i++) await sessions.send(id, { messageId: `m${i}`, text: 'measure' });
        return ((await handle.describe()).historyLength - before) / 20;
      });
    };
    const on = await perTurn('events-on', new InMemoryArchiveStore());
    const off = await perTurn('events-off', undefined);
    console.log(`history events per one-decision turn: archive on ${on}, off ${off}`);
    expect(on).toBeLessThanOrEqual(20);
    expect(off).toBeLessThan(on);
  });
});
