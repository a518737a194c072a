/**
 * Vitest global setup: one real Temporal dev server for the whole `npm test` run.
 *
 * `TEMPORAL_ADDRESS` set: use that server (e.g. `docker compose up`). Otherwise: find or build the `temporal` CLI the
 * same way `stepwise dev` does (`cli/temporal-cli.ts`), start `temporal server start-dev` in memory on a free port
 * with Stepwise's search attributes registered, hand its address to the tests (`inject('temporalAddress')`) and stop
 * it at the end. When no server can be had, the run fails here with the ways forward: it never passes silently.
 */
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../cli/temporal-cli.js';
import { startDevServer } from '../../cli/temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the run's Temporal server. */
    temporalAddress: string;
    temporalNamespace: string;
  }
}

const root = join(import.meta.dirname, '..', '..');

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TEMPORAL_ADDRESS) {
    project.provide('temporalAddress', process.env.TEMPORAL_ADDRESS);
    project.provide('temporalNamespace', process.env.TEMPORAL_NAMESPACE || 'default');
    return undefined;
  }
  const cli = await ensureTemporalCli({ stateDir: join(root, '.stepwise') });
  const started = Date.now();
  const server = await startDevServer({ binary: cli.path, uiPort: false });
  console.log(`[global-setup] Temporal dev server ${cli.path} (${cli.source}) at ${server.address}, up in ${Date.now() - started} ms`);
  project.provide('temporalAddress', server.address);
  project.provide('temporalNamespace', server.namespace);
  return () => server.stop();
}
