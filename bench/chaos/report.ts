/**
 * The chaos run's report: one line per invariant with its counts (and its violations below it), then a summary
 * table (faults injected by kind, messages acknowledged, turns checked, violations), and the seed to reproduce.
 */
import type { CheckResult } from './check.js';
import { FAULT_KINDS, type RunRecord } from './record.js';

/** The report's lines (printed to stdout by `npm run chaos`); `minutes` undefined for the progress schedule. */
export function reportLines(seed: number, minutes: number | undefined, record: RunRecord, checks: CheckResult[]): string[] {
  const lines: string[] = [];
  for (const c of checks) {
    const counts = Object.entries(c.counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(`${c.violations.length === 0 ? 'ok  ' : 'FAIL'} ${c.name}: ${counts}`);
    for (const v of c.violations) lines.push(`       ${v}`);
  }
  const violations = checks.reduce((n, c) => n + Number(c.counts.violations ?? 0), 0);
  const acked = [...record.sessions.values()].reduce((n, s) => n + s.messages.filter((m) => m.ackedAt !== undefined).length, 0);
  const turns = checks[0]?.counts['archive turns'] ?? 0;
  const rows: Array<[string, string]> = [
    ...FAULT_KINDS.map((k): [string, string] => [`faults: ${k}`, String(record.faults.filter((f) => f.kind === k).length)]),
    ['sessions', String(record.sessions.size)],
    ['messages acknowledged', String(acked)],
    ['turns checked', String(turns)],
    ['violations', String(violations)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const length = minutes === undefined ? 'faults by progress' : `${minutes} min`;
  lines.push('', `chaos run: seed ${seed}, ${length}, ${((Date.now() - record.startedAt) / 60_000).toFixed(1)} min of load and checks`);
  lines.push(`| ${'what'.padEnd(width)} | count |`, `|${'-'.repeat(width + 2)}|-------|`);
  for (const [k, n] of rows) lines.push(`| ${k.padEnd(width)} | ${n.padStart(5)} |`);
  lines.push('', violations === 0 ? `passed (seed ${seed})` : `FAILED: ${violations} violations; reproduce with ${minutes === undefined ? `seed ${seed} and the same options` : `npm run chaos -- --seed ${seed} --minutes ${minutes}`}`);
  return lines;
}

/** The faults as they ran, one line each (for the log). */
export function faultLines(record: RunRecord): string[] {
  return record.faults.map((f) => `${(f.atMs / 1000).toFixed(1).padStart(6)} s  ${f.kind.padEnd(13)} ${f.target.padEnd(28)} ${(f.durationMs / 1000).toFixed(1)} s${f.note ? `  ${f.note}` : ''}`);
}
