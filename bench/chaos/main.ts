/**
 * `npm run chaos [-- --minutes 5 --seed 42 --sessions 30 --subscribers 8 --faults-per-kind N --faults a,b]`: the fault-injection
 * suite over the whole stack under load (docs/chaos.md). Prints one line per invariant, a summary table, and exits
 * 1 with the seed to reproduce when any invariant was violated (2 when the stack could not be started).
 */
import { parseArgs } from 'node:util';
import { log, runBench } from '../support.js';
import { FAULT_KINDS, type FaultKind } from './record.js';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    seed: { type: 'string' },
    sessions: { type: 'string', default: '30' },
    subscribers: { type: 'string', default: '8' },
    'faults-per-kind': { type: 'string' },
    /** Comma-separated fault kinds to inject (default all: see FAULT_KINDS in ./record.ts). */
    faults: { type: 'string' },
  },
});
const number = (name: string, text: string | undefined) => {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${text})`);
  return n;
};
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Math.floor(number('seed', values.seed));
const minutes = number('minutes', values.minutes);
const faultKinds = values.faults?.split(',').map((k) => k.trim()) as FaultKind[] | undefined;
for (const k of faultKinds ?? []) if (!FAULT_KINDS.includes(k)) throw new Error(`--faults: unknown kind ${k} (kinds: ${FAULT_KINDS.join(', ')})`);
log(`chaos: seed ${seed}, ${minutes} min (repeat with --seed ${seed})`);

await runBench(
  () =>
    runChaos({
      seed,
      minutes,
      sessions: Math.floor(number('sessions', values.sessions)),
      subscribers: Math.floor(Number(values.subscribers)),
      ...(values['faults-per-kind'] ? { faultsPerKind: Math.floor(number('faults-per-kind', values['faults-per-kind'])) } : {}),
      ...(faultKinds ? { faultKinds } : {}),
      log,
    }),
  (outcome) => {
    for (const line of outcome.lines) console.log(line);
    if (outcome.violations > 0) process.exitCode = 1;
  },
);
