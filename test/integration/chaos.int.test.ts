/**
 * The chaos suite's short, deterministic variant (docs/chaos.md): the whole stack as real processes (Temporal dev
 * server with persistence, PostgreSQL, 2 workers, 2 APIs), 4 client sessions with flows, ledger tools, approvals and
 * SSE subscribers, and one fault of each kind, each due after 8 more acknowledged messages (progress, not wall
 * clock, so a slow machine runs the same faults at the same points of the conversation): worker SIGKILL, API
 * SIGKILL, Temporal SIGKILL, PostgreSQL SIGKILL (each restarted), a 10 s worker stall, a burst of 50 messages to one
 * session, and the bad requests. Then the seven invariants must hold. About 90 s on two idle cores; up to several minutes on a busy machine (the test allows 10).
 *
 * It starts its own Temporal server (the suite's shared one cannot be killed), so it does not use the global setup's.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bench/chaos/run.js';
import { FAULT_KINDS } from '../../bench/chaos/record.js';

describe('chaos: every fault once, under load, nothing lost', () => {
  it('keeps all seven invariants through one fault of each kind', async () => {
    const lines: string[] = [];
    const outcome = await runChaos({
      seed: 20,
      sessions: 4,
      subscribers: 2,
      schedule: { progressEvery: 8 },
      stallMs: [10_000, 10_000],
      burstSize: 50,
      log: (line) => {
        lines.push(line);
        process.stderr.write(`[chaos] ${line}\n`);
      },
    });
    const report = [...lines, ...outcome.lines].join('\n');
    for (const kind of FAULT_KINDS) expect(outcome.record.faults.filter((f) => f.kind === kind), `${kind}\n${report}`).toHaveLength(1);
    expect(outcome.checks.map((c) => c.name.slice(0, 1))).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(Number(outcome.checks[0]!.counts.acknowledged), report).toBeGreaterThan(7 * 8);
    expect(Number(outcome.checks[1]!.counts['ledger entries']), report).toBeGreaterThan(0);
    expect(Number(outcome.checks[3]!.counts.events), report).toBeGreaterThan(0);
    expect(Number(outcome.checks[4]!.counts['bad requests']), report).toBe(32); // the bad-request cases of bench/chaos/faults.ts, sent to both APIs
    expect(outcome.violations, report).toBe(0);
  }, 600_000);
});
