/**
 * Time travel on the real Temporal dev server and a real PostgreSQL archive (docs/time-travel.md): fork at every turn
 * of a 12-turn conversation with a flow and tools (states equal to what the session held then, across
 * continue-as-new), rewind then continue, regenerate, edit, the superseded branches, the 4xx refusals, time travel
 * without an archive, and an operator's `temporal workflow reset` (the real CLI) between two turns.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateArchive } from '../../archive/migrate.js';
import { createPgArchive, type PgArchiveStore } from '../../archive/pg-store.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { getEvents, getTurnState, sessionWorkflowId } from '../../workflows/shared.js';
import { call, expectError } from '../support/api.js';
import { recordHistory } from '../support/histories.js';
import { serveOnTemporal } from '../support/int-api.js';
import { writeAgent } from '../support/int-agent.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { connectTemporal, temporalServer } from '../support/temporal.js';

const run = promisify(execFile);
const respond = (response: string) => ({ action: 'RESPOND', response });
const echo = (text: string) => ({ action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text } }] });
const move = (step: string) => ({ action: 'MOVE', step_id: step });

/** JSON with object keys sorted: equal texts mean equal values everywhere (a continued run re-reads its state in schema order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * Twelve turns through both steps, the `working` flow (entered at `work`, exited back at `chat`) and the tools, as
 * decisions per turn.
 */
const TWELVE_TURNS: unknown[][] = [
  [respond('hello 1')],
  [echo('a'), respond('echoed 2')],
  [move('work'), respond('working 3')],
  [echo('b'), respond('in flow 4')],
  [{ action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 1 } }, { tool: 'echo', arguments: { text: 'c' } }] }, respond('two tools 5')],
  [respond('still working 6')],
  [move('chat'), respond('back 7')],
  [echo('d'), respond('echoed 8')],
  [move('work'), respond('working again 9')],
  [respond('in flow 10')],
  [move('chat'), respond('back again 11')],
  [respond('bye 12')],
];

describe('time travel over Temporal and PostgreSQL (real dev server, real CLI)', () => {
  let env: TestWorkflowEnvironment;
  let pg: TestPostgres;
  let archive: PgArchiveStore;
  let databaseUrl: string;
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  let scriptPath: string;
  const taskQueue = `stepwise-int-tt-${process.pid}`;
  const tag = Date.now().toString(36);
  const agentId = `tt-${tag}`;

  beforeAll(async () => {
    env = await connectTemporal();
    pg = await startTestPostgres();
    databaseUrl = await pg.createDatabase();
    await migrateArchive(databaseUrl);
    archive = createPgArchive(databaseUrl);
    // Five turns per run: the 12-turn conversation spans three runs, so most forks read the archive's snapshots.
    const script = [...TWELVE_TURNS.flat(), ...Array.from({ length: 60 }, (_, i) => respond(`more ${i}`))];
    const agent = await writeAgent(agentId, script, { max_turns_per_run: 5 });
    scriptPath = join(agent.dir, 'script.yaml');
    ({ app, stop } = await serveOnTemporal(env, { agents: [agent], taskQueue, archive }));
  }, 120_000);
  afterAll(async () => {
    await stop?.();
    await archive?.close();
    await pg?.stop();
    await env?.teardown();
  });

  const send = (id: string, text: string, messageId: string) => call(app, 'POST', `/sessions/${id}/messages`, { text, messageId });
  const handle = (id: string) => env.client.workflow.getHandle(sessionWorkflowId(id));

  it('forks at every turn of a 12-turn conversation with a flow and tools: the state the session held then, byte for byte', { timeout: 300_000 }, async () => {
    const id = `conv-${tag}`;
    expect((await call(app, 'POST', '/sessions', { agentId, sessionId: id, name: 'Twelve' })).res.statusCode).toBe(201);
    // What the session held after each turn, read from the live run right after it (turn 0: before the first).
    const held: string[] = [];
    const first = await handle(id).query(getTurnState, 0);
    expect(first.status).toBe('held');
    held.push(first.status === 'held' ? first.state : '');
    for (let t = 1; t <= 12; t++) {
      const sent = await send(id, `message ${t}`, `m${t}`);
      expect(sent.res.statusCode, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.reply).toBe((TWELVE_TURNS[t - 1]!.at(-1) as { response: string }).response);
      const lookup = await handle(id).query(getTurnState, t);
      expect(lookup.status).toBe('held');
      held.push(lookup.status === 'held' ? lookup.state : '');
    }
    const parsed = held.map((s) => JSON.parse(s));
    // The conversation went where it should: flow entered and left twice, tools ran.
    expect(parsed[3]).toMatchObject({ stepId: 'work', flow: { flowId: 'working' } });
    expect(parsed[7]).toMatchObject({ stepId: 'chat', flow: null });
    expect(parsed[12].counters).toMatchObject({ turns: 12, toolCalls: 5 });
    expect((await call(app, 'GET', `/sessions/${id}`)).body.run).toBe(3);

    // The archive's snapshot of every turn is the text the session held (byte for byte within a run; at a run's
    // start the held copy is the carried state re-read, in schema key order: equal canonically).
    let exact = 0;
    for (let t = 0; t <= 12; t++) {
      const archived = (await archive.getTurnState(id, t))?.state;
      expect(archived, `archive snapshot of turn ${t}`).toBeDefined();
      expect(canonical(JSON.parse(archived!)), `archive snapshot of turn ${t}`).toBe(canonical(parsed[t]));
      if (archived === held[t]) exact++;
    }
    expect(exact).toBeGreaterThanOrEqual(11); // all but the starts of runs 2 and 3, when the query reached them

    for (let t = 0; t <= 12; t++) {
      const forkId = `${id}-f${t}`;
      const forked = await call(app, 'POST', `/sessions/${id}/fork`, { atTurn: t, sessionId: forkId });
      expect(forked.res.statusCode, JSON.stringify(forked.body)).toBe(201);
      expect(forked.body).toMatchObject({ sessionId: forkId, parentSessionId: id, forkedAtTurn: t, turns: t, name: `Twelve (fork at turn ${t})` });
      const own = await handle(forkId).query(getTurnState, t);
      expect(own.status).toBe('held');
      const state = JSON.parse(own.status === 'held' ? own.state : 'null');
      // Equal to the parent's state then, in every field and value, except the session id.
      expect(state).toStrictEqual({ ...parsed[t], sessionId: forkId });
      expect(canonical(state)).toBe(canonical({ ...parsed[t], sessionId: forkId }));
      // Answered message ids came along: the parent's messages up to the fork are known to the fork.
      if (t > 0) expect((await call(app, 'GET', `/sessions/${forkId}/messages/m${t}`)).res.statusCode).not.toBe(404);
    }

    // A fork's history lists the parent's turns (inherited), then its own; it goes on like the parent did.
    const fork4 = `${id}-f4`;
    const next = await send(fork4, 'message 5', 'm5');
    expect(next.res.statusCode).toBe(200);
    expect(next.body).toMatchObject({ turn: 5, reply: 'two tools 5', stepId: 'work' });
    const history = (await call(app, 'GET', `/sessions/${fork4}/history`)).body;
    expect(history.turns.map((t: { turn: number; inheritedFrom?: string }) => [t.turn, t.inheritedFrom ?? null])).toEqual([
      [1, id],
      [2, id],
      [3, id],
      [4, id],
      [5, null],
    ]);
    expect((await call(app, 'DELETE', `/sessions/${fork4}`)).res.statusCode).toBe(200);
    await recordHistory('time-travel-fork', handle(fork4)); // `npm run record:histories` with this file

    // An ended session can still be forked.
    expect((await call(app, 'DELETE', `/sessions/${id}`)).res.statusCode).toBe(200);
    const late = await call(app, 'POST', `/sessions/${id}/fork`, { atTurn: 6 });
    expect(late.res.statusCode).toBe(201);
    expect(late.body).toMatchObject({ parentSessionId: id, forkedAtTurn: 6, status: 'active', turns: 6 });
    expectError(await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 3 }), 409, 'SESSION_ENDED');
    expectError(await call(app, 'POST', `/sessions/${id}/fork`, { atTurn: 13 }), 404, 'TURN_NOT_FOUND');
    expectError(await call(app, 'POST', `/sessions/${id}/fork`, { atTurn: 2, sessionId: `${id}-f2` }), 409, 'SESSION_EXISTS');
  });

  it('rewinds, keeps the superseded turns as a branch, continues, regenerates and edits', { timeout: 180_000 }, async () => {
    const id = `rw-${tag}`;
    expect((await call(app, 'POST', '/sessions', { agentId, sessionId: id })).res.statusCode).toBe(201);
    const replies: string[] = [];
    for (let t = 1; t <= 4; t++) replies.push((await send(id, `message ${t}`, `m${t}`)).body.reply);
    const before = (await call(app, 'GET', `/sessions/${id}/history`)).body.turns;
    expect(before).toHaveLength(4);

    const rewound = await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 2 });
    expect(rewound.res.statusCode, JSON.stringify(rewound.body)).toBe(200);
    expect(rewound.body).toMatchObject({ toTurn: 2, fromTurn: 4, source: 'live', session: { turns: 2, stepId: 'chat' } });
    expect(rewound.body.session.flowId).toBeUndefined();
    const branch = rewound.body.branch as string;
    // Live streams see a `rewound` event, after every earlier event.
    const events = await handle(id).query(getEvents, 0);
    expect(events.events.at(-1)).toMatchObject({ type: 'rewound', toTurn: 2, fromTurn: 4, branch });
    // The live history is turns 1-2; the superseded ones are the branch's, never deleted.
    expect((await call(app, 'GET', `/sessions/${id}/history`)).body.turns.map((t: { turn: number }) => t.turn)).toEqual([1, 2]);
    expect((await call(app, 'GET', `/sessions/${id}/branches`)).body.branches).toEqual([
      { branch, fromTurn: 2, turns: 2, reason: 'rewind', supersededAt: expect.any(String) },
    ]);
    const superseded = (await call(app, 'GET', `/sessions/${id}/history?branch=${branch}`)).body;
    expect(superseded.turns.map((t: { turn: number; reply: string }) => [t.turn, t.reply])).toEqual([
      [3, before[2].reply],
      [4, before[3].reply],
    ]);
    expect((await call(app, 'GET', `/sessions/${id}/branches/${branch}`)).body.turns).toHaveLength(2);
    // A retried rewind to the same turn changes nothing.
    expect((await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 2 })).body).toMatchObject({ toTurn: 2, fromTurn: 2 });

    // Continue: the superseded message id m3 is forgotten, so it runs a new turn 3 from the state after turn 2.
    const again = await send(id, 'message 3, again', 'm3');
    expect(again.res.statusCode).toBe(200);
    expect(again.body.turn).toBe(3);
    expect(again.body.events.find((e: { type: string }) => e.type === 'user_message')).toMatchObject({ text: 'message 3, again' });
    expect(again.body.reply).toBe(replies[2]); // the scripted model answers decision #n the same way

    // Regenerate: the model now answers that decision differently (the script changed), and the last turn runs again.
    const script = [...TWELVE_TURNS.flat(), ...Array.from({ length: 60 }, (_, i) => respond(`more ${i}`))];
    const index = TWELVE_TURNS.slice(0, 2).flat().length + 1; // turn 3's RESPOND (after its MOVE)
    script[index] = respond('a regenerated reply');
    writeFileSync(scriptPath, stringify(script));
    const regenerated = await call(app, 'POST', `/sessions/${id}/regenerate`);
    expect(regenerated.res.statusCode, JSON.stringify(regenerated.body)).toBe(200);
    expect(regenerated.body).toMatchObject({ turn: 3, messageId: 'm3', reply: 'a regenerated reply' });

    // Edit message m2: back to before turn 2, the new text runs turn 2.
    const edited = await call(app, 'POST', `/sessions/${id}/messages/m2/edit`, { text: 'message 2, edited' });
    expect(edited.res.statusCode, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.turn).toBe(2);
    expect(edited.body.events.find((e: { type: string }) => e.type === 'user_message')).toMatchObject({ messageId: 'm2', text: 'message 2, edited' });
    expect((await call(app, 'GET', `/sessions/${id}`)).body.turns).toBe(2);
    const branches = (await call(app, 'GET', `/sessions/${id}/branches`)).body.branches;
    expect(branches.map((b: { fromTurn: number; turns: number }) => [b.fromTurn, b.turns])).toEqual([
      [2, 2],
      [2, 1],
      [1, 2],
    ]);
    expectError(await call(app, 'POST', `/sessions/${id}/messages/nope/edit`, { text: 'x' }), 404, 'TURN_NOT_FOUND');
    expect((await call(app, 'DELETE', `/sessions/${id}`)).res.statusCode).toBe(200);
    await recordHistory('time-travel-rewind', handle(id));
  });

  it('refuses what it cannot do, and changes nothing then', { timeout: 180_000 }, async () => {
    const id = `no-${tag}`;
    expect((await call(app, 'POST', '/sessions', { agentId, sessionId: id })).res.statusCode).toBe(201);
    for (let t = 1; t <= 2; t++) expect((await send(id, `message ${t}`, `n${t}`)).res.statusCode).toBe(200);
    expectError(await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 3 }), 404, 'TURN_NOT_FOUND');
    expectError(await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: -1 }), 400, 'INVALID_REQUEST');
    expectError(await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 1, extra: true }), 400, 'INVALID_REQUEST');
    expectError(await call(app, 'POST', `/sessions/missing-${tag}/rewind`, { toTurn: 0 }), 404, 'SESSION_NOT_FOUND');

    // A turn in flight (a slow tool after turn 3's MOVE to `work`): refused, and the turn finishes as if nothing was asked.
    const base = [...TWELVE_TURNS.flat(), ...Array.from({ length: 60 }, (_, i) => respond(`more ${i}`))];
    const script = [...base];
    script.splice(TWELVE_TURNS.slice(0, 2).flat().length + 1, 0, { action: 'TOOL_CALL', tool_calls: [{ tool: 'slow', arguments: { ms: 3_000 } }] });
    writeFileSync(scriptPath, stringify(script));
    const pending = send(id, 'message 3', 'n3');
    await expect.poll(async () => (await call(app, 'GET', `/sessions/${id}`)).body.busy, { timeout: 10_000, interval: 5 }).toBe(true);
    const inFlight = await call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 1 });
    // The turn may have finished within the poll: then the rewind went through; either way nothing is half applied.
    if (inFlight.res.statusCode === 409) expectError(inFlight, 409, 'TURN_IN_FLIGHT');
    const third = await pending;
    expect(third.res.statusCode).toBe(200);
    const view = (await call(app, 'GET', `/sessions/${id}`)).body;
    expect(view.turns).toBe(inFlight.res.statusCode === 409 ? 3 : 1);

    // Concurrent rewinds: one applies, the other is refused (REWIND_IN_PROGRESS) or finds nothing left to do.
    const session = (await call(app, 'GET', `/sessions/${id}`)).body;
    if (session.turns < 3) for (let t = session.turns + 1; t <= 3; t++) await send(id, `message ${t}`, `c${t}`);
    const both = await Promise.all([call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 1 }), call(app, 'POST', `/sessions/${id}/rewind`, { toTurn: 1 })]);
    for (const r of both) {
      if (r.res.statusCode !== 200) expectError(r, 409, 'REWIND_IN_PROGRESS');
    }
    expect(both.filter((r) => r.res.statusCode === 200 && r.body.branch).length).toBe(1);
    expect((await call(app, 'GET', `/sessions/${id}`)).body.turns).toBe(1);
    writeFileSync(scriptPath, stringify(base));
  });

  it('without an archive: within the live run only, else 409 TURN_STATE_UNAVAILABLE', { timeout: 180_000 }, async () => {
    const bare = await writeAgent(`bare-${tag}`, Array.from({ length: 20 }, (_, i) => respond(`bare ${i}`)), { max_turns_per_run: 2 });
    const served = await serveOnTemporal(env, { agents: [bare], taskQueue: `${taskQueue}-bare` });
    try {
      const id = `bare-${tag}`;
      expect((await call(served.app, 'POST', '/sessions', { agentId: bare.snapshot.name, sessionId: id })).res.statusCode).toBe(201);
      for (let t = 1; t <= 5; t++) expect((await call(served.app, 'POST', `/sessions/${id}/messages`, { text: `m ${t}`, messageId: `b${t}` })).res.statusCode).toBe(200);
      // Run 3 holds turns 4 and 5 only.
      expect((await call(served.app, 'GET', `/sessions/${id}`)).body.run).toBe(3);
      expectError(await call(served.app, 'POST', `/sessions/${id}/rewind`, { toTurn: 2 }), 409, 'TURN_STATE_UNAVAILABLE');
      expectError(await call(served.app, 'POST', `/sessions/${id}/fork`, { atTurn: 1 }), 409, 'TURN_STATE_UNAVAILABLE');
      expect((await call(served.app, 'POST', `/sessions/${id}/fork`, { atTurn: 4 })).res.statusCode).toBe(201);
      const back = await call(served.app, 'POST', `/sessions/${id}/rewind`, { toTurn: 4 });
      expect(back.res.statusCode).toBe(200);
      expect(back.body).toMatchObject({ toTurn: 4, fromTurn: 5, source: 'live', session: { turns: 4 } });
      expectError(await call(served.app, 'GET', `/sessions/${id}/branches`), 503, 'ARCHIVE_UNAVAILABLE');
    } finally {
      await served.stop();
    }
  });

  it('measures a fork at turn 10 and at turn 1,000: milliseconds and bytes (printed for the docs)', { timeout: 600_000 }, async () => {
    const long = await writeAgent(`cost-${tag}`, Array.from({ length: 1_100 }, (_, i) => respond(`reply number ${i} with a few more words in it`)));
    // Its own store on the same database: closing this app closes the store it was given.
    const served = await serveOnTemporal(env, { agents: [long], taskQueue: `${taskQueue}-cost`, archive: createPgArchive(databaseUrl) });
    try {
      const id = `cost-${tag}`;
      expect((await call(served.app, 'POST', '/sessions', { agentId: long.snapshot.name, sessionId: id })).res.statusCode).toBe(201);
      const costs: Record<string, unknown>[] = [];
      const forkAt = async (turn: number, source: 'live' | 'archive') => {
        const forkId = `${id}-at${turn}-${source}`;
        const started = performance.now();
        const forked = await call(served.app, 'POST', `/sessions/${id}/fork`, { atTurn: turn, sessionId: forkId });
        const ms = Math.round(performance.now() - started);
        expect(forked.res.statusCode, JSON.stringify(forked.body)).toBe(201);
        const history = await handle(forkId).fetchHistory();
        const startedEvent = history.events![0]!.workflowExecutionStartedEventAttributes!;
        const inputBytes = (startedEvent.input?.payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);
        const snapshotBytes = Buffer.byteLength((await archive.getTurnState(id, turn))!.state);
        costs.push({ turn, source, ms, workflowInputBytes: inputBytes, snapshotBytes });
        expect((await call(served.app, 'POST', `/sessions/${forkId}/messages`, { text: 'next', messageId: 'next' })).res.statusCode).toBe(200);
      };
      // Straight to the backend: the API's per-session message rate limit would stop a 1,000-turn burst.
      const sessions = new TemporalSessions({ client: env.client, taskQueue: `${taskQueue}-cost` });
      for (let t = 1; t <= 1_000; t++) {
        expect((await sessions.send(id, { text: `message number ${t}`, messageId: `c${t}` })).turn).toBe(t);
        if (t === 10) await forkAt(10, 'live');
      }
      await forkAt(1_000, 'live');
      await forkAt(10, 'archive'); // run 1 is long gone: the archive's snapshot
      await forkAt(400, 'archive');
      // eslint-disable-next-line no-console
      console.log(`time travel cost: ${JSON.stringify(costs)}`);
      for (const c of costs) expect(c.workflowInputBytes as number).toBeLessThan(1536 * 1024);
    } finally {
      await served.stop();
    }
  });

  it("an operator's `temporal workflow reset` between two turns: the session goes on from there, the archive supersedes the later turns", { timeout: 180_000 }, async () => {
    const cli = join(process.cwd(), '.stepwise/bin/temporal');
    expect(existsSync(cli), 'the Temporal CLI in .stepwise/bin').toBe(true);
    const id = `reset-${tag}`;
    expect((await call(app, 'POST', '/sessions', { agentId, sessionId: id })).res.statusCode).toBe(201);
    for (let t = 1; t <= 4; t++) expect((await send(id, `message ${t}`, `r${t}`)).res.statusCode).toBe(200);
    const history = await handle(id).fetchHistory();
    const events = history.events ?? [];
    // The workflow task that completed right before the third message's update was accepted: between turns 2 and 3.
    const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    const third = accepted[2]!;
    const completed = events.filter((e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) < Number(third.eventId)).at(-1)!;
    const { address, namespace } = temporalServer();
    await run(cli, [
      'workflow', 'reset', '--address', address, '--namespace', namespace, '--workflow-id', sessionWorkflowId(id),
      '--event-id', String(completed.eventId), '--reason', 'time travel test', '--reapply-exclude', 'All',
    ]);
    // The reset run stands after turn 2.
    await expect.poll(async () => (await call(app, 'GET', `/sessions/${id}`)).body.turns, { timeout: 20_000 }).toBe(2);
    const next = await send(id, 'after the reset', 'r3b');
    expect(next.res.statusCode, JSON.stringify(next.body)).toBe(200);
    expect(next.body.turn).toBe(3);
    const liveHistory = await call(app, 'GET', `/sessions/${id}/history`);
    expect(liveHistory.res.statusCode, JSON.stringify(liveHistory.body)).toBe(200);
    const live = liveHistory.body.turns;
    expect(live.map((t: { turn: number; messageId: string }) => [t.turn, t.messageId])).toEqual([
      [1, 'r1'],
      [2, 'r2'],
      [3, 'r3b'],
    ]);
    const branches = (await call(app, 'GET', `/sessions/${id}/branches`)).body.branches;
    expect(branches).toEqual([expect.objectContaining({ fromTurn: 2, turns: 2, reason: 'reset' })]);
    const old = (await call(app, 'GET', `/sessions/${id}/history?branch=${branches[0].branch}`)).body.turns;
    expect(old.map((t: { messageId: string }) => t.messageId)).toEqual(['r3', 'r4']);
    expect((await call(app, 'DELETE', `/sessions/${id}`)).res.statusCode).toBe(200);
    await recordHistory('time-travel-reset', handle(id));
  });
});
