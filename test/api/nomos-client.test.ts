/**
 * NOMOS's own Python client shape against Stepwise's NOMOS routes: `test/nomos-client/client_conformance.py` (NOMOS's
 * pydantic models, requests sent as nomos/client.py sends them) drives a whole conversation through every NOMOS route
 * over a real listening server with the in-process backend, and every reply must parse with NOMOS's models.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSessions } from '../../cli/local-sessions.js';
import { build, type Harness } from '../support/api.js';
import { CONFORMANCE_ROUTES, conformanceExecutors, runConformance } from '../support/nomos-client.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe("NOMOS's Python client on the NOMOS routes (in-process backend)", () => {
  it('drives a whole conversation through every route; every reply parses with NOMOS models', async () => {
    const exec = conformanceExecutors();
    h = await build({ backend: new LocalSessions({ executors: () => exec, now: exec.now }) });
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { code, stdout, stderr } = await runConformance(base);
    // Route by route first: a failure shows which route and why (the script prints `FAIL <route>: <reason>`).
    expect(stdout.trim().split('\n'), stderr).toEqual([...CONFORMANCE_ROUTES.map((r) => `ok   ${r}`), 'NOMOS client conformance: passed']);
    expect(code).toBe(0);
  }, 90_000);
});
