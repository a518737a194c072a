/**
 * Reproduces the replay failure the chaos suite found under bursts (docs/chaos.md "What it found"), with no fault at
 * all: one in-process worker (archive on, so local activities run), one session, 30 `sendMessage` updates at once
 * (approving what waits for approval) while 10 loops query the workflow (`getTurnResult`, as clients polling result
 * URLs do), then the session's history replayed through the workflow code.
 *
 *   npx tsx bench/chaos/replay-burst.ts queries 3   # with the queries: replay failed in 2 of 3 rounds here
 *   npx tsx bench/chaos/replay-burst.ts none 3      # without them
 *
 * Prints one line per round and `withQueries=…: <failed>/<rounds> failed`. Not part of any test: a reproducer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ModelCache } from '../../activities/models/model.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { ensureTemporalCli } from '../../cli/temporal-cli.js';
import { startDevServer } from '../../cli/temporal-server.js';
import { loadAgent } from '../../runtime/agents/load.js';
import { createSessionWorker } from '../../workers/worker.js';
import { getTurnResult, sessionWorkflowId } from '../../workflows/shared.js';
import { workflowsPath } from '../../workers/workflows-path.js';
import { writeChaosAgent } from './agent.js';

const withQueries = process.argv[2] === 'queries';
const rounds = Number(process.argv[3] ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'exp-'));
process.env.CHAOS_LEDGER_DIR = join(dir, 'ledger');
const { agentFile } = writeChaosAgent(dir);
const agent = await loadAgent(agentFile);
const cli = await ensureTemporalCli({ stateDir: join(import.meta.dirname, '..', '..', '.stepwise') });
const server = await startDevServer({ binary: cli.path, uiPort: false });
const nc = await NativeConnection.connect({ address: server.address });
const conn = await Connection.connect({ address: server.address });
const client = new Client({ connection: conn });
const worker = await createSessionWorker({ connection: nc, taskQueue: 'exp', agents: [agent], archive: new InMemoryArchiveStore(), models: new ModelCache(), log: () => {} });
const sessions = new TemporalSessions({ client, taskQueue: 'exp' });
let failed = 0;
await worker.runUntil(async () => {
  for (let r = 0; r < rounds; r++) {
    const id = `exp-${withQueries ? 'q' : 'n'}-${r}-${Date.now()}`;
    await sessions.start(agent.snapshot, id);
    let stop = false;
    const hammer = withQueries
      ? Promise.all(Array.from({ length: 10 }, async () => { while (!stop) { await client.workflow.getHandle(sessionWorkflowId(id)).query(getTurnResult, 'x').catch(() => {}); } }))
      : Promise.resolve();
    // only turns without approvals: k0 and k1 turns of the script... send 50 at once and approve nothing (approval turns wait)
    await Promise.all(Array.from({ length: 30 }, async (_, j) => {
      const r = await sessions.send(id, { messageId: `b${j}`, text: `b${j}` }).catch(() => undefined);
      for (const p of r?.pendingApprovals ?? []) await sessions.decideApproval(id, { callId: p.callId, decision: 'approve' }).catch(() => {});
    }));
    stop = true;
    await hammer;
    const history = await client.workflow.getHandle(sessionWorkflowId(id)).fetchHistory();
    try { await Worker.runReplayHistory({ workflowsPath }, history, id); console.log('replay ok', id, history.events?.length); }
    catch (e) { failed++; console.log('REPLAY FAILED', id, (e as Error).message.slice(200, 420)); }
  }
});
console.log(`withQueries=${withQueries}: ${failed}/${rounds} failed`);
await conn.close(); await nc.close(); await server.stop();
process.exit(0);
