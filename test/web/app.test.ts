/**
 * The web app in a real browser (Debian's Chromium through playwright-core) against the real API serving it, on the
 * in-process backend running the scripted barista (examples/barista) with its real tool code and an in-memory
 * archive: hold a conversation, watch the tool calls and step change in the inspector, reload mid-conversation and
 * lose nothing, approve the barista's place_order, find the ended session in the list and open it read-only, let an
 * agent speak first and answer with its quick-suggestion buttons, on a desktop and a phone-sized screen.
 * Screenshots of each view: test/web/artifacts/ (git-ignored).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { step, testAgent } from '../support/agents.js';
import { chatWithBarista, openFromList, say, transcript } from '../support/barista-journey.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { scriptedExecutors } from '../support/scripted-executors.js';
import { startWebServer, type WebServer } from '../support/web-server.js';

let web: WebServer;
let browser: Browser;

beforeAll(async () => {
  // A second agent whose step answers with structured data (answer_model).
  const survey = testAgent({
    name: 'survey',
    startStepId: 'quote',
    steps: [
      step('quote', {
        answerModel: {
          type: 'object',
          properties: { total: { type: 'number' }, items: { type: 'array', items: { type: 'string' } } },
          required: ['total', 'items'],
        },
      }),
    ],
    flows: [],
    tools: [],
  });
  // A third that speaks first and offers quick suggestions (`quick_suggestions: true`).
  const host = testAgent({ name: 'host', startStepId: 'welcome', steps: [step('welcome', { quickSuggestions: true })], flows: [], tools: [] });
  const hostScript = [
    { action: 'RESPOND', response: 'Hello! Coffee or tea?', suggestions: ['Coffee, please', 'Tea, please'] },
    { action: 'RESPOND', response: 'Tea it is.' },
  ];
  web = await startWebServer({
    env: { STEPWISE_TEMPORAL_UI_URL: 'http://temporal-ui.test:8080/', TEMPORAL_NAMESPACE: 'agents' },
    extraAgents: [
      { agent: survey, executors: scriptedExecutors([{ action: 'RESPOND', answer: { total: 8.25, items: ['large mocha', 'blueberry muffin'] } }]) },
      { agent: host, executors: scriptedExecutors(hostScript) },
    ],
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function newPage(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

/** Starts a chat (default: the barista) from the start page; returns the session id from the URL. */
async function startChat(page: Page, agent = 'barista'): Promise<string> {
  await page.goto(`${web.url}/`);
  await page.getByLabel('Agent', { exact: true }).selectOption(agent);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.waitForURL(/\/app\/chat\/[^/]+$/);
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
}

describe('web app (Chromium)', () => {
  it('serves the app at / and /app/*, its assets, and its config; the API is unchanged', async () => {
    const index = await fetch(`${web.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    const html = await index.text();
    const asset = html.match(/\/assets\/[^"]+\.js/)![0];
    const js = await fetch(`${web.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    expect((await fetch(`${web.url}/app/sessions/whatever`)).status).toBe(200);
    expect(await (await fetch(`${web.url}/app/config.json`)).json()).toEqual({ temporalUiUrl: 'http://temporal-ui.test:8080', namespace: 'agents' });
    expect((await fetch(`${web.url}/agents`)).status).toBe(200);
    expect((await fetch(`${web.url}/assets/nope.js`)).status).toBe(404);
  });

  it('holds a conversation: replies, tool calls with arguments and results, step change and flow in the inspector', async () => {
    const page = await newPage();
    const sessionId = await startChat(page);
    await expect.poll(() => page.getByTestId('current-step').textContent()).toBe('greeting');

    await say(page, 'Hi there!', /Welcome to Stepwise Coffee/);
    await say(page, 'Can I see the menu?', /Drinks: espresso \$2\.50/);

    const inspector = page.getByRole('complementary', { name: 'Inspector' });
    await expect.poll(() => page.getByTestId('current-step').textContent()).toBe('take_order');
    expect(await page.getByTestId('current-flow').textContent()).toBe('order_flow');
    const step = inspector.locator('[data-event=step_change]');
    expect(await step.textContent()).toContain('greeting → take_order');
    expect(await inspector.locator('[data-event=flow_enter]').textContent()).toContain('Entered flow order_flow');
    // The decision that moved, with its reasoning.
    expect(await inspector.locator('[data-event=decision]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('MOVE → take_order'), expect.stringContaining('handled in take_order')]),
    );
    const toolCall = inspector.locator('[data-event=tool_call]').first();
    expect(await toolCall.textContent()).toContain('get_menu');
    expect(await inspector.locator('[data-event=tool_result]').first().textContent()).toContain('espresso');

    // A tool error and the recovery (the scripted "mocha latte" is not on the menu).
    await say(page, "I'll have a large mocha latte and a croissant, please.", /Got it: a large mocha/);
    expect(await inspector.locator('[data-event=tool_error]').first().textContent()).toMatch(/add_to_cart/);
    expect(await inspector.locator('[data-event=tool_call]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/add_to_cart.*"item": "croissant"/s)]),
    );

    const link = inspector.getByRole('link', { name: 'Open the workflow in the Temporal UI' });
    expect(await link.getAttribute('href')).toBe(`http://temporal-ui.test:8080/namespaces/agents/workflows/session-${encodeURIComponent(sessionId)}`);

    // New messages are announced to screen readers; the composer is labelled.
    expect(await page.locator('.transcript').getAttribute('aria-live')).toBe('polite');
    await page.screenshot({ path: artifactPath('chat.png'), fullPage: true });
    await page.context().close();
  });

  it('loses nothing on reload mid-conversation, resumes the stream after the last event, and goes on', async () => {
    const page = await newPage();
    const sessionId = await startChat(page);
    await say(page, 'Hi there!', /Welcome/);
    await say(page, 'Can I see the menu?', /Drinks/);
    const before = await transcript(page);
    const eventsBefore = await page.locator('.inspector [data-event]').count();
    expect(before).toHaveLength(4);

    const streams: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/events')) streams.push(r.url());
    });
    await page.reload();
    await expect.poll(() => transcript(page)).toEqual(before);
    expect(await page.locator('.inspector [data-event]').count()).toBe(eventsBefore);
    // The reloaded page read its events from the session cache and asked only for newer ones.
    await expect.poll(() => streams.length).toBeGreaterThan(0);
    expect(Number(new URL(streams[0]).searchParams.get('after'))).toBeGreaterThan(0);

    await say(page, "I'll have a large mocha latte and a croissant, please.", /Got it/);
    expect(await transcript(page)).toHaveLength(6);
    // No event shown twice.
    const seqs = await page.locator('.inspector [data-event]').count();
    const state = (await (await fetch(`${web.url}/sessions/${encodeURIComponent(sessionId)}`)).json()) as { lastEventSeq: number };
    expect(seqs).toBe(state.lastEventSeq + 1);
    await page.context().close();
  });

  it('reconnects after a network drop with Last-Event-ID: events sent meanwhile are shown, none twice', async () => {
    const sockets = new Set<Socket>();
    const track = (socket: Socket) => sockets.add(socket);
    web.server.app.server.on('connection', track);
    try {
      const page = await newPage();
      const sessionId = await startChat(page);
      await say(page, 'Hi there!', /Welcome/);
      const resumed: Array<Promise<string | undefined>> = [];
      page.on('request', (r) => {
        if (r.url().includes('/events')) resumed.push(r.allHeaders().then((h) => h['last-event-id']));
      });
      const lastSeq = (await (await fetch(`${web.url}/sessions/${encodeURIComponent(sessionId)}`)).json()) as { lastEventSeq: number };

      // The network drops (every connection of the page is cut); a turn happens while it is down.
      for (const s of sockets) s.destroy();
      await expect.poll(() => page.locator('.inspector .conn').textContent()).not.toBe('open');
      const sent = await fetch(`${web.url}/sessions/${encodeURIComponent(sessionId)}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Can I see the menu?' }),
      });
      expect(sent.status).toBe(200);

      await expect.poll(() => transcript(page), { timeout: 15_000 }).toEqual([
        expect.stringContaining('Hi there!'),
        expect.stringContaining('Welcome'),
        expect.stringContaining('Can I see the menu?'),
        expect.stringContaining('Drinks'),
      ]);
      expect(await Promise.all(resumed)).toContain(String(lastSeq.lastEventSeq));
      const state = (await (await fetch(`${web.url}/sessions/${encodeURIComponent(sessionId)}`)).json()) as { lastEventSeq: number };
      expect(await page.locator('.inspector [data-event]').count()).toBe(state.lastEventSeq + 1);
      expect(await page.locator('.inspector .conn').textContent()).toBe('open');
      await page.context().close();
    } finally {
      web.server.app.server.off('connection', track);
    }
  });

  it('lets the agent speak first and offers its quick suggestions as buttons that send the reply', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/`);
    await page.getByLabel('Agent', { exact: true }).selectOption('host');
    await page.getByLabel('Let the agent speak first').check();
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.waitForURL(/\/app\/chat\/[^/]+$/);
    // The opening turn: an agent message with no user message before it.
    await expect.poll(() => transcript(page)).toEqual([expect.stringContaining('Hello! Coffee or tea?')]);
    expect(await page.locator('.transcript [data-role=user]').count()).toBe(0);
    const chips = page.getByRole('group', { name: 'Suggested replies' }).getByRole('button');
    await expect.poll(() => chips.allTextContents()).toEqual(['Coffee, please', 'Tea, please']);
    await page.screenshot({ path: artifactPath('suggestions.png'), fullPage: true });

    await chips.filter({ hasText: 'Tea, please' }).click();
    await expect.poll(() => transcript(page)).toEqual([
      expect.stringContaining('Hello! Coffee or tea?'),
      expect.stringContaining('Tea, please'),
      expect.stringContaining('Tea it is.'),
    ]);
    expect(await page.locator('.transcript [data-role=user]').allTextContents()).toEqual(['You: Tea, please']);
    // The turn that answered had no suggestions: the buttons are gone.
    expect(await page.getByRole('group', { name: 'Suggested replies' }).count()).toBe(0);
    await page.context().close();
  });

  it('renders a structured answer as data', async () => {
    const page = await newPage();
    await startChat(page, 'survey');
    const box = page.getByLabel('Message');
    await box.fill('what do I owe?');
    await box.press('Enter');
    const answer = page.locator('.transcript figure.answer');
    await expect.poll(() => answer.count()).toBe(1);
    expect(await answer.locator('figcaption').textContent()).toBe('Structured answer');
    expect(await answer.locator('dt').allTextContents()).toEqual(['total', 'items']);
    expect(await answer.locator('dd').first().textContent()).toBe('8.25');
    expect(await answer.locator('li').allTextContents()).toEqual(['large mocha', 'blueberry muffin']);
    await page.screenshot({ path: artifactPath('answer.png') });
    await page.context().close();
  });

  it("the barista from start to end: approves place_order, then finds the ended session in the list and opens it", async () => {
    // Another user's session, so the list's user filter has something to leave out.
    const post = (url: string, body: unknown) => fetch(`${web.url}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/sessions', { agentId: 'barista', sessionId: 'web-other-1', userId: 'bob-web', message: 'Hi there!' })).status).toBe(201);

    const page = await newPage();
    const journey = { baseUrl: web.url, userId: 'ann-web', shots: 'journey-' };
    const sessionId = await chatWithBarista(page, journey);
    const state = (await (await fetch(`${web.url}/sessions/${encodeURIComponent(sessionId)}`)).json()) as { status: string };
    expect(state.status).toBe('ended');

    // The list's status and agent filters leave the live session of bob-web out.
    await page.goto(`${web.url}/app/sessions`);
    const rows = page.locator('table.sessions tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(1);
    await page.getByLabel('Status').selectOption('ended');
    await page.getByLabel('Agent', { exact: true }).selectOption('barista');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=ended/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain(sessionId);

    await openFromList(page, sessionId, journey);
    await page.context().close();
  });

  it('fits a phone-sized screen: the inspector below the chat, no sideways scrolling', async () => {
    const page = await newPage({ width: 390, height: 844 });
    await startChat(page);
    await say(page, 'Hi there!', /Welcome/);
    const chat = await page.locator('section.chat').boundingBox();
    const inspector = await page.locator('aside.inspector').boundingBox();
    expect(inspector!.y).toBeGreaterThanOrEqual(chat!.y + chat!.height);
    expect(chat!.width).toBeLessThanOrEqual(390);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: artifactPath('chat-phone.png'), fullPage: true });
    await page.context().close();
  });
});
