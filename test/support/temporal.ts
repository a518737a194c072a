/**
 * The run's real Temporal server (started by `test/support/global-setup.ts`, or `TEMPORAL_ADDRESS`), for
 * `*.int.test.ts`: a client and a worker connection on it.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';

/** `host:port` and namespace of the run's server. */
export function temporalServer(): { address: string; namespace: string } {
  return { address: inject('temporalAddress'), namespace: inject('temporalNamespace') };
}

/**
 * Connects to the run's server: `env.client` (API side) and `env.nativeConnection` (workers). Call `teardown()`.
 *
 * @throws the connection error when the server does not answer.
 */
export function connectTemporal(): Promise<TestWorkflowEnvironment> {
  const { address, namespace } = temporalServer();
  return TestWorkflowEnvironment.createFromExistingServer({ address, namespace });
}
