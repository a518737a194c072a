/**
 * The one conformance suite every {@link ArchiveStore} backend must pass (after langgraphjs
 * `libs/checkpoint-validation`). A backend's test file calls {@link describeArchiveConformance} with a factory that
 * returns a fresh, empty store per test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveStore } from '../../src/archive/store.js';
import type { SessionEvent, TurnResult } from '../../src/engine/types.js';

/** `2025-01-01T10:<minute>:00.000Z`: distinct, ordered instants for fixtures. */
export function at(minute: number, second = 0): string {
  return new Date(Date.UTC(2025, 0, 1, 10, minute, second)).toISOString();
}

/**
 * A finished turn numbered `turn` whose three events (turn_started, user_message, reply) take seqs
 * `firstSeq..firstSeq+2`; `ended` adds a `session_ended` event.
 */
export function makeTurn(
  turn: number,
  firstSeq: number,
  options: { stepId?: string; flowId?: string; ended?: boolean; answer?: unknown; text?: string } = {},
): TurnResult {
  const messageId = `m${turn}`;
  const t = at(turn);
  const reply = `reply ${turn}`;
  const events: SessionEvent[] = [
    { seq: firstSeq, turn, at: t, type: 'turn_started', messageId },
    { seq: firstSeq + 1, turn, at: t, type: 'user_message', messageId, text: options.text ?? `hello ${turn}` },
    { seq: firstSeq + 2, turn, at: t, type: 'reply', text: reply, fallback: false, ...(options.answer === undefined ? {} : { answer: options.answer }) },
  ];
  if (options.ended) events.push({ seq: firstSeq + 3, turn, at: t, type: 'session_ended', reason: 'end_action' });
  return {
    messageId,
    turn,
    reply,
    ...(options.answer === undefined ? {} : { answer: options.answer }),
    stepId: options.stepId ?? 'start',
    ...(options.flowId === undefined ? {} : { flowId: options.flowId }),
    ended: options.ended ?? false,
    events,
  };
}

/** A `recordTurn` input for `turn` of `sessionId`, started at minute `turn.turn` and finished 30 s later. */
export function turnRecord(sessionId: string, turn: TurnResult, run = 1, agentName = 'barista') {
  return {
    sessionId,
    agentName,
    configHash: 'hash-1',
    turn,
    run,
    startedAt: at(turn.turn),
    finishedAt: at(turn.turn, 30),
    status: 'completed' as const,
  };
}

/** Expects `promise` to reject with a StepwiseError carrying `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export function describeArchiveConformance(backend: string, createStore: () => Promise<ArchiveStore>): void {
  describe(`ArchiveStore conformance: ${backend}`, () => {
    let store: ArchiveStore;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it('records a session start idempotently (earliest createdAt kept, metadata merged)', async () => {
      await store.recordSessionStart({ sessionId: 's1', agentName: 'barista', configHash: 'h', createdAt: at(5), metadata: { a: 1 } });
      await store.recordSessionStart({ sessionId: 's1', agentName: 'barista', configHash: 'h', createdAt: at(3), metadata: { b: 2 } });
      expect(await store.getSession('s1')).toEqual({
        schemaVersion: 1,
        sessionId: 's1',
        agentName: 'barista',
        configHash: 'h',
        status: 'active',
        turnCount: 0,
        createdAt: at(3),
        updatedAt: at(5),
        metadata: { a: 1, b: 2 },
      });
      expect(await store.getSession('nope')).toBeNull();
      expect(await store.getTurns('nope')).toEqual({ turns: [] });
      expect(await store.getEvents('nope')).toEqual({ events: [] });
    });

    it('keeps user id and name from the start, replaces name/metadata on update, and lists by user', async () => {
      await store.recordSessionStart({ sessionId: 'u1', agentName: 'barista', configHash: 'h', createdAt: at(1), userId: 'alice', name: 'Latte', metadata: { a: 1 } });
      // A repeated start (a retried write) fills in only what is unset.
      await store.recordSessionStart({ sessionId: 'u1', agentName: 'barista', configHash: 'h', createdAt: at(1), userId: 'mallory', name: 'Other' });
      await store.recordSessionStart({ sessionId: 'u2', agentName: 'barista', configHash: 'h', createdAt: at(2), userId: 'bob' });
      await store.recordSessionStart({ sessionId: 'u3', agentName: 'barista', configHash: 'h', createdAt: at(3), userId: 'alice' });
      await store.recordSessionStart({ sessionId: 'u4', agentName: 'barista', configHash: 'h', createdAt: at(4) });
      expect(await store.getSession('u1')).toMatchObject({ userId: 'alice', name: 'Latte', metadata: { a: 1 } });
      expect((await store.getSession('u4'))?.userId).toBeUndefined();
      expect((await store.getSession('u4'))?.name).toBeUndefined();

      await store.updateSessionInfo({ sessionId: 'u1', name: 'Flat white' });
      expect(await store.getSession('u1')).toMatchObject({ name: 'Flat white', metadata: { a: 1 }, updatedAt: at(1) });
      await store.updateSessionInfo({ sessionId: 'u1', metadata: { b: 2 } });
      await store.updateSessionInfo({ sessionId: 'u1', metadata: { b: 2 } });
      expect(await store.getSession('u1')).toMatchObject({ userId: 'alice', name: 'Flat white', metadata: { b: 2 } });
      await expectCode(store.updateSessionInfo({ sessionId: 'nope', name: 'x' }), 'SESSION_NOT_FOUND');
      await expectCode(store.updateSessionInfo({ sessionId: 'u1', metadata: { big: 'x'.repeat(17_000) } }), 'INVALID_REQUEST');

      const alice = await store.listSessions({ userId: 'alice', limit: 1 });
      expect(alice.sessions.map((s) => s.sessionId)).toEqual(['u3']);
      const next = await store.listSessions({ userId: 'alice', limit: 1, cursor: alice.nextCursor });
      expect([next.sessions.map((s) => s.sessionId), next.nextCursor]).toEqual([['u1'], undefined]);
      expect((await store.listSessions({ userId: 'carol' })).sessions).toEqual([]);
    });

    it('archives the same turn twice as one row with no duplicate events', async () => {
      const rec = turnRecord('s1', makeTurn(1, 0, { stepId: 'order' }));
      await store.recordTurn(rec);
      await store.recordTurn(rec);
      const { turns, nextAfterTurn } = await store.getTurns('s1');
      expect(nextAfterTurn).toBeUndefined();
      expect(turns).toHaveLength(1);
      expect(turns[0]).toEqual({ ...rec.turn, sessionId: 's1', run: 1, status: 'completed', startedAt: at(1), finishedAt: at(1, 30) });
      const { events } = await store.getEvents('s1', { afterSeq: -1, limit: 100 });
      expect(events.map((e) => e.seq)).toEqual([0, 1, 2]);
      // The session row was created by the turn itself (no recordSessionStart).
      expect(await store.getSession('s1')).toMatchObject({
        agentName: 'barista', configHash: 'hash-1', status: 'active', stepId: 'order', turnCount: 1, lastSeq: 2,
        createdAt: at(1), updatedAt: at(1, 30),
      });
    });

    it('moves the session row only forward when turns arrive late or twice', async () => {
      await store.recordSessionStart({ sessionId: 's1', agentName: 'barista', configHash: 'h', createdAt: at(0) });
      await store.recordTurn(turnRecord('s1', makeTurn(2, 3, { stepId: 'pay', flowId: 'checkout' })));
      await store.recordTurn(turnRecord('s1', makeTurn(1, 0, { stepId: 'order' })));
      const s = await store.getSession('s1');
      expect(s).toMatchObject({ stepId: 'pay', flowId: 'checkout', turnCount: 2, lastSeq: 5, updatedAt: at(2, 30), createdAt: at(0) });
      expect((await store.getTurns('s1')).turns.map((t) => t.turn)).toEqual([1, 2]);
    });

    it('ends the session on an ending turn and never reactivates it', async () => {
      await store.recordTurn(turnRecord('s1', makeTurn(1, 0)));
      await store.recordTurn(turnRecord('s1', makeTurn(2, 3, { stepId: 'bye', ended: true })));
      await store.recordTurn(turnRecord('s1', makeTurn(1, 0))); // a late retry of an earlier turn
      const s = await store.getSession('s1');
      expect(s).toMatchObject({ status: 'ended', endedAt: at(2, 30), endReason: 'end_action', stepId: 'bye', lastSeq: 6 });
      expect(s?.flowId).toBeUndefined();
      // A later end does not overwrite the first.
      await store.recordSessionEnd({ sessionId: 's1', status: 'failed', reason: 'boom', at: at(9) });
      expect(await store.getSession('s1')).toMatchObject({ status: 'ended', endedAt: at(2, 30), endReason: 'end_action', updatedAt: at(9) });
    });

    it('records a session end with its final events; unknown sessions are SESSION_NOT_FOUND', async () => {
      await store.recordTurn(turnRecord('s1', makeTurn(1, 0)));
      const ended: SessionEvent = { seq: 3, turn: 1, at: at(20), type: 'session_ended', reason: 'idle_timeout' };
      await store.recordSessionEnd({ sessionId: 's1', status: 'ended', reason: 'idle_timeout', at: at(20), events: [ended] });
      await store.recordSessionEnd({ sessionId: 's1', status: 'ended', reason: 'idle_timeout', at: at(20), events: [ended] });
      expect(await store.getSession('s1')).toMatchObject({ status: 'ended', endReason: 'idle_timeout', endedAt: at(20), updatedAt: at(20), lastSeq: 3 });
      expect((await store.getEvents('s1')).events.map((e) => e.type)).toEqual(['turn_started', 'user_message', 'reply', 'session_ended']);
      // The end event belongs to no turn.
      expect((await store.getTurns('s1')).turns[0]?.events).toHaveLength(3);

      await store.recordSessionStart({ sessionId: 's2', agentName: 'barista', configHash: 'h', createdAt: at(0) });
      await store.recordSessionEnd({ sessionId: 's2', status: 'failed', reason: 'workflow failed', at: at(1) });
      expect(await store.getSession('s2')).toMatchObject({ status: 'failed', endReason: 'workflow failed', endedAt: at(1) });

      await expectCode(store.recordSessionEnd({ sessionId: 'ghost', status: 'ended', reason: 'end_session', at: at(1) }), 'SESSION_NOT_FOUND');
      expect(await store.getSession('ghost')).toBeNull();
      // With agent and config, an end the archive has not seen the start of still lands.
      await store.recordSessionEnd({ sessionId: 'late', status: 'ended', reason: 'idle_timeout', at: at(4), agentName: 'barista', configHash: 'h' });
      expect(await store.getSession('late')).toMatchObject({
        status: 'ended', agentName: 'barista', turnCount: 0, createdAt: at(4), endedAt: at(4), endReason: 'idle_timeout',
      });
    });

    it('derives a turn status from its events when none is given', async () => {
      const ok = makeTurn(1, 0);
      const fallback = makeTurn(2, 3);
      fallback.events[2] = { seq: 5, turn: 2, at: at(2), type: 'reply', text: 'Sorry, something went wrong.', fallback: true };
      const { status: _a, ...okRecord } = turnRecord('s1', ok);
      const { status: _b, ...fallbackRecord } = turnRecord('s1', fallback);
      await store.recordTurn(okRecord);
      await store.recordTurn(fallbackRecord);
      expect((await store.getTurns('s1')).turns.map((t) => t.status)).toEqual(['completed', 'failed']);
    });

    it('lists sessions newest first with cursors that survive ties on updatedAt', async () => {
      // updatedAt minutes: three sessions tie at minute 7, two at minute 5.
      const minutes: Record<string, number> = { a: 7, b: 5, c: 7, d: 9, e: 5, f: 7, g: 1 };
      for (const [id, minute] of Object.entries(minutes)) {
        await store.recordSessionStart({ sessionId: id, agentName: 'barista', configHash: 'h', createdAt: at(minute) });
      }
      const expected = ['d', 'f', 'c', 'a', 'e', 'b', 'g'];
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listSessions({ limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.sessions.map((s) => s.sessionId));
        cursor = page.nextCursor;
        pages++;
        expect(page.sessions.length).toBeLessThanOrEqual(2);
      } while (cursor && pages < 10);
      expect(seen).toEqual(expected);
      expect(pages).toBe(4);
      expect(cursor).toBeUndefined();
      // A page that ends exactly at the last row has no next cursor.
      expect((await store.listSessions({ limit: 7 })).nextCursor).toBeUndefined();
      expect((await store.listSessions({ limit: 6 })).nextCursor).toEqual(expect.any(String));
      // The cursor is opaque base64url.
      const first = await store.listSessions({ limit: 3 });
      expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('filters the listing by agent and status, paging within the filter', async () => {
      for (let i = 0; i < 6; i++) {
        const agent = i % 2 === 0 ? 'barista' : 'travel';
        await store.recordTurn(turnRecord(`s${i}`, makeTurn(i + 1, 0, { ended: i >= 4 }), 1, agent));
      }
      const ids = async (q: Parameters<ArchiveStore['listSessions']>[0]) => {
        const out: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listSessions({ ...q, limit: 1, ...(cursor ? { cursor } : {}) });
          out.push(...page.sessions.map((s) => s.sessionId));
          cursor = page.nextCursor;
        } while (cursor && out.length < 20); // bounded: a cursor that never ends must fail, not hang
        return out;
      };
      expect(await ids({ agentId: 'barista' })).toEqual(['s4', 's2', 's0']);
      expect(await ids({ agentId: 'travel' })).toEqual(['s5', 's3', 's1']);
      expect(await ids({ status: 'ended' })).toEqual(['s5', 's4']);
      expect(await ids({ status: 'active', agentId: 'travel' })).toEqual(['s3', 's1']);
      expect(await ids({ status: 'failed' })).toEqual([]);
      expect(await ids({ agentId: 'nobody' })).toEqual([]);
    });

    it('defaults the listing to 20 and rejects bad limits and cursors', async () => {
      for (let i = 0; i < 23; i++) {
        await store.recordSessionStart({ sessionId: `s${String(i).padStart(2, '0')}`, agentName: 'barista', configHash: 'h', createdAt: at(i) });
      }
      const page = await store.listSessions();
      expect(page.sessions).toHaveLength(20);
      expect(page.sessions[0]?.sessionId).toBe('s22');
      const rest = await store.listSessions({ cursor: page.nextCursor! });
      expect(rest.sessions.map((s) => s.sessionId)).toEqual(['s02', 's01', 's00']);
      expect((await store.listSessions({ limit: 100 })).sessions).toHaveLength(23);
      await expectCode(store.listSessions({ limit: 101 }), 'INVALID_REQUEST');
      await expectCode(store.listSessions({ limit: 0 }), 'INVALID_REQUEST');
      await expectCode(store.listSessions({ cursor: 'not-a-cursor' }), 'INVALID_REQUEST');
      await expectCode(store.listSessions({ cursor: Buffer.from('{"u":"x","s":"a"}').toString('base64url') }), 'INVALID_REQUEST');
    });

    it('returns history across a continue-as-new boundary complete and in order', async () => {
      // Run 1 had turns 1-3, run 2 turns 4-6; seqs continue across runs. Recorded out of order, one twice.
      const turns = [1, 2, 3, 4, 5, 6].map((n) => makeTurn(n, (n - 1) * 3, { stepId: `step${n}` }));
      const order = [4, 1, 2, 6, 3, 5, 2];
      for (const n of order) await store.recordTurn(turnRecord('s1', turns[n - 1]!, n <= 3 ? 1 : 2));

      const first = await store.getTurns('s1', { limit: 4 });
      expect(first.turns.map((t) => [t.turn, t.run])).toEqual([[1, 1], [2, 1], [3, 1], [4, 2]]);
      expect(first.nextAfterTurn).toBe(4);
      const second = await store.getTurns('s1', { afterTurn: first.nextAfterTurn, limit: 4 });
      expect(second.turns.map((t) => [t.turn, t.run])).toEqual([[5, 2], [6, 2]]);
      expect(second.nextAfterTurn).toBeUndefined();
      const all = [...first.turns, ...second.turns];
      all.forEach((t, i) => {
        const { sessionId, run, status, startedAt, finishedAt, ...result } = t;
        expect(result).toEqual(turns[i]);
        expect({ sessionId, status, startedAt, finishedAt }).toEqual({ sessionId: 's1', status: 'completed', startedAt: at(i + 1), finishedAt: at(i + 1, 30) });
        expect(run).toBe(i < 3 ? 1 : 2);
      });
      expect(await store.getSession('s1')).toMatchObject({ turnCount: 6, stepId: 'step6', lastSeq: 17 });
      expect((await store.getTurns('s1', { afterTurn: 6 })).turns).toEqual([]);
    });

    it('pages events after a seq in ascending order', async () => {
      for (const n of [2, 1, 3]) await store.recordTurn(turnRecord('s1', makeTurn(n, (n - 1) * 3)));
      const all = await store.getEvents('s1', { afterSeq: -1, limit: 1_000 });
      expect(all.events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(all.nextAfterSeq).toBeUndefined();

      const p1 = await store.getEvents('s1', { afterSeq: 3, limit: 3 });
      expect(p1.events.map((e) => e.seq)).toEqual([4, 5, 6]);
      expect(p1.nextAfterSeq).toBe(6);
      const p2 = await store.getEvents('s1', { afterSeq: p1.nextAfterSeq!, limit: 3 });
      expect(p2.events.map((e) => e.seq)).toEqual([7, 8]);
      expect(p2.nextAfterSeq).toBeUndefined();
      expect((await store.getEvents('s1', { afterSeq: 8, limit: 10 })).events).toEqual([]);
      expect(p1.events[0]).toEqual(makeTurn(2, 3).events[1]);
      await expectCode(store.getEvents('s1', { afterSeq: 0, limit: 1_001 }), 'INVALID_REQUEST');
    });

    it('round-trips structured answers, flows, failed turns and offset timestamps', async () => {
      const answer = { size: 'large', extras: ['oat milk', null], count: 2, nested: { ok: true } };
      const turn = makeTurn(1, 0, { answer, flowId: 'order_flow', stepId: 'take_order' });
      await store.recordTurn({ ...turnRecord('s1', turn), status: 'failed', startedAt: '2025-01-01T12:01:00+02:00', finishedAt: '2025-01-01T12:01:30.5+02:00' });
      const [t] = (await store.getTurns('s1')).turns;
      expect(t).toMatchObject({ answer, flowId: 'order_flow', status: 'failed', startedAt: at(1), finishedAt: '2025-01-01T10:01:30.500Z' });
      expect(t?.events[2]).toEqual(turn.events[2]);
      const plain = (await (async () => {
        await store.recordTurn(turnRecord('s2', makeTurn(1, 0)));
        return (await store.getTurns('s2')).turns[0];
      })())!;
      expect('answer' in plain).toBe(false);
      expect('flowId' in plain).toBe(false);
    });

    it('rejects invalid input with INVALID_REQUEST and stores nothing', async () => {
      await expectCode(store.recordTurn({ ...turnRecord('s1', makeTurn(1, 0)), startedAt: 'yesterday' }), 'INVALID_REQUEST');
      await expectCode(store.recordTurn({ ...turnRecord('s1', makeTurn(1, 0)), startedAt: at(5), finishedAt: at(4) }), 'INVALID_REQUEST');
      await expectCode(store.recordTurn({ ...turnRecord('bad id!', makeTurn(1, 0)) }), 'INVALID_REQUEST');
      await expectCode(store.recordTurn(turnRecord('s1', { ...makeTurn(1, 0), turn: 0 })), 'INVALID_REQUEST');
      await expectCode(store.recordSessionStart({ sessionId: 's1', agentName: '', configHash: 'h', createdAt: at(1) }), 'INVALID_REQUEST');
      expect(await store.getSession('s1')).toBeNull();
      expect((await store.listSessions()).sessions).toEqual([]);
    });
  });
}
