/**
 * Live Temporal server for `*.int.test.ts`: `TEMPORAL_ADDRESS` (an existing cluster or `temporal server start-dev`)
 * or `TEMPORAL_CLI_PATH` (a `temporal` CLI binary started as a dev server). With neither, {@link temporalTarget}
 * returns the reason, and the suites fail with it rather than passing silently.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';

/** How to reach a server, or why none is available. */
export function temporalTarget(env: NodeJS.ProcessEnv = process.env):
  | { kind: 'address'; address: string; namespace: string }
  | { kind: 'cli'; path: string }
  | { kind: 'none'; reason: string } {
  if (env.TEMPORAL_ADDRESS) return { kind: 'address', address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE || 'default' };
  if (env.TEMPORAL_CLI_PATH) return { kind: 'cli', path: env.TEMPORAL_CLI_PATH };
  return {
    kind: 'none',
    reason:
      'No Temporal server for the integration suite: set TEMPORAL_ADDRESS=host:port (e.g. `temporal server start-dev`, ' +
      '`docker compose up`) or TEMPORAL_CLI_PATH=/path/to/temporal, then run `npm run test:integration`.',
  };
}

/**
 * Starts or connects to the server.
 *
 * @throws Error with {@link temporalTarget}'s reason when no server is configured.
 */
export async function startTemporal(): Promise<TestWorkflowEnvironment> {
  const target = temporalTarget();
  if (target.kind === 'none') throw new Error(target.reason);
  if (target.kind === 'address') {
    return TestWorkflowEnvironment.createFromExistingServer({ address: target.address, namespace: target.namespace });
  }
  return TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: target.path } } });
}
