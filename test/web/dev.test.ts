/**
 * The "Done when", as a new user does it: `stepwise dev` (the real command, a child process, with the default
 * agents in `examples/`) on Temporal's real dev server (the test run's, through `TEMPORAL_ADDRESS`) with the
 * PostgreSQL archive (a real throwaway cluster); Chromium opens the URL it prints, chats with the barista, watches the
 * turn in the inspector, approves `place_order`, and finds the ended session in the list (read from the archive).
 * Beside `examples/`, `STEPWISE_AGENTS` names a small agent that continues as new after every 2 turns, whose session
 * must open read-only with the turns of every run. Screenshots: test/web/artifacts/dev-*.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatWithBarista, openFromList } from '../support/barista-journey.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { responses, writeAgent } from '../support/int-agent.js';
import { closedPort } from '../support/net.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { temporalServer } from '../support/temporal.js';

const root = join(import.meta.dirname, '..', '..');
let pg: TestPostgres;
let dev: ChildProcess;
let output = '';
let devUrl: Promise<string>;
let browser: Browser;

/** Starts `stepwise dev` and resolves with the web app URL it prints. */
async function startDev(env: NodeJS.ProcessEnv): Promise<string> {
  dev = spawn(process.execPath, ['bin/stepwise.js', 'dev'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  dev.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  dev.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const url = output.match(/Web app:\s+(\S+?)\/?\n/)?.[1];
    if (url) return url;
    if (dev.exitCode !== null) break;
  }
  throw new Error(`stepwise dev did not print its URL:\n${output}`);
}

beforeAll(async () => {
  pg = await startTestPostgres();
  const temporal = temporalServer();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    STEPWISE_TASK_QUEUE: `stepwise-web-dev-${process.pid}`,
    PORT: String(await closedPort()),
    DATABASE_URL: await pg.createDatabase(),
    OPENAI_API_KEY: '',
    ANTHROPIC_API_KEY: '',
    // The default agents, as for a new user (examples/), and one whose runs hold 2 turns each.
    STEPWISE_AGENTS: `examples,${(await writeAgent('relay', responses(10), { max_turns_per_run: 2 })).dir}`,
  };
  devUrl = startDev(env); // awaited in the test, so a slow start fails there, with the output
  devUrl.catch(() => {}); // (not an unhandled rejection before the test awaits it)
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    dev.kill('SIGTERM');
    await Promise.race([once(dev, 'exit'), new Promise((r) => setTimeout(r, 15_000))]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  }
  await pg?.stop();
});

describe('`stepwise dev` in a browser (real Temporal, PostgreSQL archive, Chromium)', () => {
  it('a new user chats with the barista, approves place_order, and finds the ended session in the list', async () => {
    const url = await devUrl;
    expect(url, output).toMatch(/^http:\/\/(localhost|127\.0\.0\.1):\d+$/);
    expect(output).toMatch(/agents:\s+.*barista/);
    expect(output).toMatch(/archive:\s+on/);
    // No auth in dev mode, so it listens on loopback only, and has nothing to warn about.
    expect(output).toMatch(/Server listening at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).not.toMatch(/WITHOUT authentication/);

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    const journey = { baseUrl: url, userId: `dev-user-${process.pid}`, shots: 'dev-', timeout: 20_000 };
    const sessionId = await chatWithBarista(page, journey);
    // The session is a workflow on the real server, and its end is in the archive the list reads.
    const state = (await (await fetch(`${url}/sessions/${encodeURIComponent(sessionId)}`)).json()) as { status: string };
    expect(state.status).toBe('ended');
    await openFromList(page, sessionId, journey);
    await page.context().close();
  }, 180_000);

  it('opens a session that continued as new read-only, with the turns and events of every run', async () => {
    const url = await devUrl;
    const sessionId = `dev-relay-${process.pid}`;
    const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/sessions', { agentId: 'relay', sessionId, message: 'message 0' })).status).toBe(201);
    for (let i = 1; i < 5; i++) expect((await post(`/sessions/${sessionId}/messages`, { text: `message ${i}` })).status).toBe(200);
    const stateOf = async () => (await (await fetch(`${url}/sessions/${sessionId}`)).json()) as { run: number; turns: number };
    await expect.poll(async () => (await stateOf()).run, { timeout: 20_000 }).toBeGreaterThanOrEqual(3); // runs of 2, 2 and 1 turns
    expect((await stateOf()).turns).toBe(5);

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${url}/app/sessions/${sessionId}`);
    const lines = () => page.locator('.transcript li').allTextContents();
    await expect.poll(lines, { timeout: 20_000 }).toHaveLength(10);
    expect(await lines()).toEqual(Array.from({ length: 5 }, (_, i) => [expect.stringContaining(`message ${i}`), expect.stringContaining(`reply ${i}`)]).flat());
    // Every turn's events, from the runs before this one too, each once.
    const inspector = page.getByRole('complementary', { name: 'Inspector' });
    await expect.poll(() => inspector.locator('[data-event=turn_started]').count()).toBe(5);
    expect(await inspector.locator('[data-event=reply]').count()).toBe(5);
    expect(await page.getByLabel('Message').count()).toBe(0); // read-only
    await page.screenshot({ path: artifactPath('dev-continued-as-new.png'), fullPage: true });
    await page.context().close();
  }, 120_000);
});
