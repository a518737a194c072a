/**
 * `npm run bench:scale -- --peer`: the peer of issue 21 measured beside Stepwise in the same run. For each load
 * phase, right after Stepwise's and the bare ceiling's, `npm run bench:langgraph` (bench/langgraph.ts: LangGraph.js
 * with PostgresSaver, the same threads x turns and client concurrency) runs as its own process with `--json`, on a
 * fresh database of the archive's PostgreSQL server when the archive is on (else on a server it starts itself), and
 * its figures come back here for the ratio Stepwise / LangGraph.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { PeerFigures } from '../langgraph.js';
import { log } from '../support.js';
import type { LoadFigures } from './load.js';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Runs bench/langgraph.ts for one phase (`sessions` threads x `turns` turns, no long thread) and returns its load
 * figures. `databaseUrl`: the database to checkpoint into (default: the child starts its own server).
 *
 * @throws Error with the child's stderr tail when it exits non-zero or prints no JSON.
 */
export async function peerLoad(sessions: number, turns: number, databaseUrl?: string): Promise<LoadFigures> {
  log(`peer: LangGraph + PostgresSaver, ${sessions} threads x ${turns} turns`);
  const args = ['--import', 'tsx', 'bench/langgraph.ts', '--json', '--sessions', String(sessions), '--turns', String(turns), '--long-turns', '0'];
  if (databaseUrl) args.push('--database-url', databaseUrl);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4_000)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/langgraph.ts exited with ${code}:\n${stderr}`);
  const figures = JSON.parse(stdout) as PeerFigures;
  return figures.loads[0]!;
}

/** The table lines of a phase's peer figures and the ratios Stepwise / peer (turns/s; latencies peer-relative). */
export function peerLines(stepwise: LoadFigures, peer: LoadFigures, cell: (v: number, d?: number) => string): string[] {
  // Ratio rows (indented labels) get two decimals, figures one.
  const row = (label: string, values: number[], tail: string) =>
    `${label.padEnd(30)} | ${values.map((v, i) => cell(v, label.startsWith(' ') ? 2 : 1).padStart(i === 0 ? 7 : 6)).join(' | ')} | ${tail}`;
  return [
    row(`LangGraph, ${peer.sessions} threads`, [peer.turnsPerSecond, peer.latency.p50Ms, peer.latency.p90Ms, peer.latency.p99Ms], `bench ${cell(peer.cpuMsPerTurn.bench ?? 0, 2)}`),
    row('  ratio Stepwise / LangGraph', [stepwise.turnsPerSecond / peer.turnsPerSecond, stepwise.latency.p50Ms / peer.latency.p50Ms, stepwise.latency.p90Ms / peer.latency.p90Ms, stepwise.latency.p99Ms / peer.latency.p99Ms], 'turns/s goal >= 1.0 (20), >= 0.6 (100, 500)'),
  ];
}
