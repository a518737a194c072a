/**
 * Time travel in the web inspector (issue 19), in Chromium against the API and a worker on the real Temporal dev
 * server: a three-turn chat whose second turn ran a tool (marked "tools ran"), then, from the turn menus, "Rewind to
 * here" on turn 2 (the transcript loses turn 3, the timeline shows the rewind), "Regenerate" on the new last turn, and
 * "Fork from here" on turn 1 (the app opens the fork's chat with turn 1 only). The app is built from this checkout's
 * web sources into a temp dir. Screenshots: docs/screenshots/time-travel-*.png.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { TemporalSessions } from '../../api/temporal-sessions.js';
import { createSessionWorker } from '../../workers/worker.js';
import { launchBrowser } from '../support/browser.js';
import { writeAgent } from '../support/int-agent.js';
import { connectTemporal } from '../support/temporal.js';

const root = join(import.meta.dirname, '..', '..');
const shots = join(root, 'docs', 'screenshots');
const dist = mkdtempSync(join(tmpdir(), 'stepwise-web-tt-'));

describe('time travel from the web inspector (Chromium, real Temporal)', () => {
  let env: TestWorkflowEnvironment;
  let app: FastifyInstance;
  let browser: Browser;
  let stopWorker: () => Promise<void>;
  let url: string;
  let regenerateScript: () => void;
  const taskQueue = `stepwise-web-tt-${process.pid}`;

  beforeAll(async () => {
    await viteBuild({ root: join(root, 'web'), configFile: join(root, 'web', 'vite.config.ts'), build: { outDir: dist, emptyOutDir: true }, logLevel: 'warn' });
    env = await connectTemporal();
    const script = [
      { action: 'RESPOND', response: 'Hello, what can I do?' },
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'echo', arguments: { text: 'an order' } }] },
      { action: 'RESPOND', response: 'I noted your order.' },
      { action: 'RESPOND', response: 'Anything else?' },
      ...Array.from({ length: 10 }, (_, i) => ({ action: 'RESPOND', response: `more ${i}` })),
    ];
    const agent = await writeAgent('webtt', script);
    regenerateScript = () => {
      // The model answers decision #3 differently from now on (the scripted model re-reads a changed script).
      writeFileSync(join(agent.dir, 'script.yaml'), stringify(script.map((d, i) => (i === 3 ? { action: 'RESPOND', response: 'A regenerated answer.' } : d))));
    };
    const worker = await createSessionWorker({ connection: env.nativeConnection, taskQueue, agents: [agent], models: new ModelCache(), log: () => {} });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
    };
    app = await buildApp({
      backend: new TemporalSessions({ client: env.client, taskQueue }),
      agents: new Map([[agent.snapshot.name, agent.snapshot]]),
      web: { distDir: dist },
      events: { pollIntervalMs: 50 },
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stopWorker?.();
    await env?.teardown();
    rmSync(dist, { recursive: true, force: true });
  });

  const agentReplies = (page: Page) => page.locator('.transcript [data-role=agent]').allTextContents();
  const say = async (page: Page, text: string, replies: number) => {
    await page.getByLabel('Message').fill(text);
    await page.getByLabel('Message').press('Enter');
    await expect.poll(async () => (await agentReplies(page)).length, { timeout: 20_000 }).toBe(replies);
  };
  const turnMenu = (page: Page, turn: number) => page.getByRole('group', { name: `Turn ${turn} time travel` });

  it('rewinds, regenerates and forks from the turn menus, and marks turns whose tools ran', { timeout: 180_000 }, async () => {
    const created = (await (await fetch(`${url}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId: 'webtt' }) })).json()) as { sessionId: string };
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${url}/app/chat/${created.sessionId}`);
    await say(page, 'hi', 1);
    await say(page, 'I would like to order', 2);
    await say(page, 'thanks', 3);
    expect(await agentReplies(page)).toEqual([expect.stringContaining('Hello, what can I do?'), expect.stringContaining('I noted your order.'), expect.stringContaining('Anything else?')]);
    // Turn 2 ran a tool: marked, since going back does not undo it.
    await expect.poll(() => page.locator('.turn[data-turn="2"] .side-effects').textContent()).toMatch(/tools ran: echo/);
    expect(await page.locator('.turn[data-turn="1"] .side-effects').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'time-travel-menu.png') });

    await turnMenu(page, 2).getByRole('button', { name: 'Rewind to here' }).click();
    await expect.poll(async () => (await agentReplies(page)).length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => page.locator('[data-event=rewound]').textContent()).toMatch(/Rewound to turn 2 \(turns 3–3 kept as branch r2-/);
    await page.screenshot({ path: join(shots, 'time-travel-rewound.png') });

    // Turn 3 again, from the state after turn 2: the scripted model answers decision #3 as it did.
    await say(page, 'one more thing', 3);
    expect((await agentReplies(page)).at(-1)).toContain('Anything else?');
    regenerateScript();
    await turnMenu(page, 3).getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(async () => (await agentReplies(page)).at(-1), { timeout: 15_000 }).toContain('A regenerated answer.');
    expect(await agentReplies(page)).toHaveLength(3);

    await turnMenu(page, 1).getByRole('button', { name: 'Fork from here' }).click();
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).not.toBe(`/app/chat/${created.sessionId}`);
    const forkId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    await expect.poll(async () => agentReplies(page), { timeout: 10_000 }).toEqual([expect.stringContaining('Hello, what can I do?')]);
    const fork = await (await fetch(`${url}/sessions/${forkId}`)).json();
    expect(fork).toMatchObject({ parentSessionId: created.sessionId, forkedAtTurn: 1, turns: 1 });
    await page.screenshot({ path: join(shots, 'time-travel-fork.png') });
    await page.close();
  });
});
