/**
 * Replies stream into the chat token by token, through the production path: a real model client (the official
 * OpenAI SDK, streaming, against the local fake model server) publishes its text with `pg_notify` (the worker's
 * token publisher), the API LISTENs on a real PostgreSQL and forwards `event: token`, and the page shows the reply
 * as it is written, before the turn's `reply` event arrives.
 *
 * The fake model streams the decision slowly (`chunkDelayMs`), so the partial reply is on screen, growing, for a
 * while before the turn's reply event replaces it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { ToolRegistry } from '../../activities/tools.js';
import { createTokenPublisher, type TokenPublisher } from '../../archive/token-notify.js';
import { localExecutors } from '../../cli/local-executors.js';
import { testAgent } from '../support/agents.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { startWebServer, type WebServer } from '../support/web-server.js';

const GOODBYE = 'Thanks for stopping by, see you soon!';

let pg: TestPostgres;
let model: FakeModelServer;
let publisher: TokenPublisher;
let web: WebServer;
let browser: Browser;

beforeAll(async () => {
  pg = await startTestPostgres();
  model = await startFakeModelServer();
  publisher = createTokenPublisher(pg.databaseUrl, { batchMs: 10 });
  const agent = testAgent({ name: 'streamer', llms: { global: { provider: 'openai-compatible', model: 'fake', baseUrl: model.openaiBaseUrl } } });
  const activities = createActivities({
    models: new ModelCache(),
    tools: new Map([['streamer', new ToolRegistry([])]]),
    publishToken: (sessionId, text) => publisher.publish(sessionId, text),
  });
  web = await startWebServer({ databaseUrl: pg.databaseUrl, extraAgents: [{ agent, executors: localExecutors(activities) }] });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await publisher?.close();
  await model?.close();
  await pg?.stop();
});

describe('streamed replies (Chromium, PostgreSQL LISTEN/NOTIFY)', () => {
  it('shows the reply while the model writes it, then the final reply once', async () => {
    model.enqueue({ action: 'MOVE', step_id: 'order' });
    model.enqueue({ text: 'Summary: the user said hello.' }); // entering the flow
    // `response` first: once its string is complete (~6 of 9 pieces of 8 characters, 0.7 s apart), the rest of the JSON
    // still takes ~2 s to arrive, and the decoded reply is on screen meanwhile.
    model.enqueue({ decision: { response: GOODBYE, action: 'END' }, chunkChars: 8, chunkDelayMs: 700 });

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${web.url}/app/chat`);
    await page.getByLabel('Agent', { exact: true }).selectOption('streamer');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.waitForURL(/\/app\/chat\/[^/]+$/);
    await expect.poll(() => page.locator('.inspector .conn').textContent()).toBe('open');

    const box = page.getByLabel('Message');
    await box.fill('hello');
    await box.press('Enter');
    // The reply, decoded from the model's streamed JSON, before the turn has finished.
    const streaming = page.getByTestId('streaming');
    await expect.poll(() => streaming.textContent(), { timeout: 10_000 }).toBe(GOODBYE);
    expect(await page.locator('.transcript [data-role=agent]').count()).toBe(0);
    expect(await streaming.getAttribute('aria-busy')).toBe('true');
    await page.screenshot({ path: artifactPath('streaming.png') });

    // Then the turn's reply event replaces it: shown once, in the transcript.
    await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents(), { timeout: 10_000 }).toEqual([`Agent: ${GOODBYE}`]);
    expect(await streaming.count()).toBe(0);
    expect(model.requests.filter((r) => r.body?.stream === true)).toHaveLength(2);
    await page.context().close();
  });
});
