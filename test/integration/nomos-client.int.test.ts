/**
 * NOMOS's own Python client shape against Stepwise's NOMOS routes on the real Temporal dev server: the same
 * `test/nomos-client/client_conformance.py` run as test/api/nomos-client.test.ts runs it in process, here over
 * `TemporalSessions` and a session worker, with the same scripted decisions (test/support/nomos-client.ts). Each
 * session of the conversation is a durable workflow: `/chat` seeds, continuations after END, DELETE ending one.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { serveOnTemporal } from '../support/int-api.js';
import { CONFORMANCE_ROUTES, conformanceModels, runConformance, writeConformanceAgent } from '../support/nomos-client.js';
import { connectTemporal } from '../support/temporal.js';

describe("NOMOS's Python client on the NOMOS routes (Temporal backend, real dev server)", () => {
  let env: TestWorkflowEnvironment;
  let base: string;
  let stop: () => Promise<void>;
  const { models, model } = conformanceModels();

  beforeAll(async () => {
    env = await connectTemporal();
    const agent = await writeConformanceAgent(`nomos-client-${Date.now().toString(36)}`);
    const taskQueue = `stepwise-int-nomos-client-${process.pid}`;
    const served = await serveOnTemporal(env, { agents: [agent], taskQueue, archive: new InMemoryArchiveStore(), models });
    stop = served.stop;
    base = await served.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await stop?.();
    await env?.teardown();
  });

  it('drives a whole conversation through every route; every reply parses with NOMOS models', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runConformance(base);
    console.log(`NOMOS routes checked on Temporal:\n${stdout}`);
    // Route by route first: a failure shows which route and why (the script prints `FAIL <route>: <reason>`).
    expect(stdout.trim().split('\n'), stderr).toEqual([...CONFORMANCE_ROUTES.map((r) => `ok   ${r}`), 'NOMOS client conformance: passed']);
    expect(code).toBe(0);
    // The decisions came from the worker's model, over every step of the conversation.
    expect(new Set(model.decideRequests.map((r) => r.stepId))).toEqual(new Set(['greet', 'order', 'checkout']));
  });
});
