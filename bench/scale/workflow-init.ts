/**
 * `npm run bench:workflow-init`: what loading one more workflow costs a worker in module initialisation, the part of
 * a new or evicted session's first workflow task (and of its memory while cached) spent evaluating the workflow
 * bundle's modules. Prints one line; asserts nothing. Options: `--workflows N` (default 200), `--bundle FILE` (default
 * the worker's prebuilt bundle, `workers/workflow-bundle.ts`).
 *
 * It loads the bundle the way `@temporalio/worker`'s reusable V8 context does (its `reusable-vm.js`): one
 * `vm` context; modules evaluated while the bundle loads (the SDK's own) are shared; every workflow then evaluates
 * every other module anew (`importWorkflows()`) into a module cache of its own. Figures: ms per workflow (p50, p90)
 * and heap kept per workflow (after a forced GC, so run with `--expose-gc`, as the npm script does).
 */
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { Command } from 'commander';
import { prebuiltWorkflowBundle } from '../../workers/workflow-bundle.js';
import { percentile } from '../support.js';

const options = new Command('bench:workflow-init')
  .option('--workflows <n>', 'workflows to load', (v) => Number(v), 200)
  .option('--bundle <file>', 'workflow bundle (default: the prebuilt one)')
  .parse()
  .opts<{ workflows: number; bundle?: string }>();

const code = readFileSync(options.bundle ?? (await prebuiltWorkflowBundle()).codePath, 'utf8');
const shared = new Map<string | symbol, unknown>();
let own: Map<string | symbol, unknown> | undefined;
const context = vm.createContext({}, { microtaskMode: 'afterEvaluate' });
Object.defineProperty(context, '__webpack_module_cache__', {
  value: new Proxy(
    {},
    {
      get: (_, id) => shared.get(id) ?? own?.get(id),
      set: (_, id, module) => ((own ?? shared).set(id, module), true),
      deleteProperty: (_, id) => (own?.delete(id), true),
    },
  ),
});
new vm.Script(code, { filename: 'workflow-bundle.js' }).runInContext(context);
const load = new vm.Script('__TEMPORAL__.importWorkflows()');
const gc = (globalThis as { gc?: () => void }).gc;

const times: number[] = [];
const kept: unknown[] = [];
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < options.workflows; i++) {
  own = new Map();
  const t0 = performance.now();
  load.runInContext(context);
  times.push(performance.now() - t0);
  kept.push(own);
}
gc?.();
const heapKb = (process.memoryUsage().heapUsed - heapBefore) / kept.length / 1024;
console.log(
  `workflow module init: ${shared.size} shared modules, ${own!.size} per workflow; ${options.workflows} workflows: ` +
    `p50 ${percentile(times, 50).toFixed(1)} ms, p90 ${percentile(times, 90).toFixed(1)} ms, ` +
    `${gc ? `heap kept ${heapKb.toFixed(0)} KB per workflow` : 'heap: run with --expose-gc'}`,
);
