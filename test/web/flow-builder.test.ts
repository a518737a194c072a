/**
 * The flow builder in a real browser (Debian's Chromium through playwright-core) against the real API serving the
 * web app on the in-process backend with the example barista and support agents (scripted models, real tool code):
 * the map of each agent with every step, route, flow and tool; a running session highlighted on the map and moving
 * when a message is sent; editing (add a step, draw a route, undo, redo), validated by the API as it goes; export →
 * the export passes `stepwise validate`'s checks → import → the same map. (Saving to a file in `stepwise dev` is
 * test/web/flow-builder-dev.test.ts.) Screenshots: docs/screenshots/flow-builder-*.png and test/web/artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { localExecutors } from '../../cli/local-executors.js';
import { readDraft } from '../../src/config/agent-document.js';
import { agentGraph } from '../../src/config/graph.js';
import { loadAgent, validateAgentFile } from '../../runtime/agents/load.js';
import { say } from '../support/barista-journey.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { startWebServer, type WebServer } from '../support/web-server.js';

const root = join(import.meta.dirname, '..', '..');
const SCREENSHOTS = join(root, 'docs', 'screenshots');
let web: WebServer;
let browser: Browser;

beforeAll(async () => {
  const support = await loadAgent(join(root, 'examples', 'support', 'support.agent.yaml'), { env: {} });
  const activities = createActivities({ models: new ModelCache(), tools: new Map([[support.snapshot.name, support.tools]]) });
  web = await startWebServer({ extraAgents: [{ agent: support.snapshot, executors: localExecutors(activities) }] });
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 960 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

/** What the map shows: node ids (React Flow's `data-id`) and edge ids, sorted. */
async function mapContents(page: Page): Promise<{ nodes: string[]; edges: string[] }> {
  const nodes = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id') ?? ''));
  const edges = await page.locator('.react-flow__edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-id') ?? ''));
  return { nodes: nodes.sort(), edges: edges.sort() };
}

/** The map the API's graph implies, in the ids the page uses. */
async function expectedMap(agentId: string): Promise<{ nodes: string[]; edges: string[] }> {
  const graph = (await (await fetch(`${web.url}/agents/${agentId}/graph`)).json()) as ReturnType<typeof agentGraph>;
  const counters = new Map<string, number>();
  const edges = graph.edges.map((e) => {
    const from = e.from.slice(5);
    if (e.kind === 'tool') return `uses:${from}:${e.to.slice(5)}`;
    const n = counters.get(from) ?? 0;
    counters.set(from, n + 1);
    return `route:${from}:${n}`;
  });
  return { nodes: graph.nodes.map((n) => n.id).sort(), edges: edges.sort() };
}

describe('flow builder (Chromium)', () => {
  it.each(['barista', 'support'])('draws %s: every step, route, flow and tool, the start, entry and exit steps', async (agentId) => {
    const page = await newPage();
    await page.goto(`${web.url}/app/agents/${agentId}`);
    const expected = await expectedMap(agentId);
    await expect.poll(() => mapContents(page), { timeout: 15_000 }).toEqual(expected);
    const file = readFileSync(join(root, 'examples', agentId, `${agentId}.agent.yaml`), 'utf8');
    const draft = readDraft(file);
    // Every step, with its marks; every flow as a box around its steps; every route labelled with its condition.
    for (const step of draft.steps) await expect.poll(() => page.locator(`[data-step="${step.id}"]`).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator(`[data-step="${draft.startStepId}"] .mark-start`).count()).toBe(1);
    for (const flow of draft.flows) {
      expect(await page.locator(`[data-flow="${flow.id}"]`).count()).toBe(1);
      for (const s of flow.enters) expect(await page.locator(`[data-step="${s}"] .mark-entry`).count()).toBe(1);
      for (const s of flow.exits) expect(await page.locator(`[data-step="${s}"] .mark-exit`).count()).toBe(1);
      // The flow's steps are drawn inside its box.
      const box = (await page.locator(`.react-flow__node[data-id="flow:${flow.id}"]`).boundingBox())!;
      const entry = (await page.locator(`[data-step="${flow.enters[0]}"]`).boundingBox())!;
      expect(entry.x).toBeGreaterThanOrEqual(box.x);
      expect(entry.x + entry.width).toBeLessThanOrEqual(box.x + box.width + 1);
    }
    const labels = await page.locator('.react-flow__edge-text').allTextContents();
    for (const step of draft.steps) for (const r of step.routes) expect(labels).toContain(r.when!.length > 32 ? `${r.when!.slice(0, 30)}…` : r.when);
    // Zoom, fit and the minimap are there; selecting a step shows its fields.
    expect(await page.locator('.react-flow__minimap').count()).toBe(1);
    expect(await page.locator('.react-flow__controls-fitview').count()).toBe(1);
    await page.locator(`[data-step="${draft.steps[1]!.id}"]`).click();
    const panel = page.getByTestId('step-panel');
    await expect.poll(() => panel.textContent(), { timeout: 15_000 }).toContain(`Step ${draft.steps[1]!.id}`);
    expect(await panel.textContent()).toContain(draft.steps[1]!.tools[0]);
    await page.screenshot({ path: join(SCREENSHOTS, `flow-builder-${agentId}.png`) });
    await page.context().close();
  });
});

describe('a session on the map (Chromium)', () => {
  it('highlights the current step and flow, counts the routes taken, and moves when a message is sent', async () => {
    const post = (url: string, body: unknown) => fetch(`${web.url}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const sessionId = `map-${process.pid}`;
    expect((await post('/sessions', { agentId: 'barista', sessionId, message: 'Hi there!' })).status).toBe(201);
    const page = await newPage();
    await page.goto(`${web.url}/app/agents/barista?session=${sessionId}`);
    const current = () => page.locator('.map-step.is-current').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    await expect.poll(current, { timeout: 15_000 }).toEqual(['greeting']);
    expect(await page.locator('.map-flow.is-current').count()).toBe(0);

    // A message moves the session to take_order, into order_flow: the map follows the event stream.
    expect((await post(`/sessions/${sessionId}/messages`, { text: 'Can I see the menu?' })).status).toBe(200);
    await expect.poll(current, { timeout: 15_000 }).toEqual(['take_order']);
    await expect.poll(() => page.locator('.map-flow.is-current').getAttribute('data-flow'), { timeout: 15_000 }).toBe('order_flow');
    const taken = page.locator('.react-flow__edge[data-id="route:greeting:0"]');
    await expect.poll(() => taken.getAttribute('class'), { timeout: 15_000 }).toContain('is-taken');
    expect(await taken.locator('.react-flow__edge-text').textContent()).toMatch(/×1$/);
    await expect.poll(() => page.locator('[data-step="greeting"] .mark-visits').textContent(), { timeout: 15_000 }).toBe('2×');
    await page.screenshot({ path: join(SCREENSHOTS, 'flow-builder-live.png') });

    // The inspector links each turn to the map, where that turn's steps are marked.
    await page.goto(`${web.url}/app/sessions/${sessionId}`);
    // The last turn (the one that moved to take_order).
    const link = page.locator('.timeline .turn').last().getByRole('link', { name: 'on the map' });
    const turn = new URL((await link.getAttribute('href'))!, web.url).searchParams.get('turn');
    expect(await page.locator('.timeline .turn').last().locator('[data-event=step_change]').count()).toBe(1);
    await link.click();
    await page.waitForURL(new RegExp(`/app/agents/barista\\?session=${sessionId}&turn=${turn}$`));
    await expect.poll(() => page.locator('.map-step.in-turn').evaluateAll((els) => els.map((e) => e.getAttribute('data-step'))), { timeout: 15_000 }).toEqual(['greeting', 'take_order']);
    await page.context().close();
  });
});

/** Drags a new connection from the source handle of one node to the target handle of another. */
async function connect(page: Page, from: string, to: string): Promise<void> {
  const a = (await page.locator(`.react-flow__node[data-id="${from}"] .react-flow__handle.source`).boundingBox())!;
  const b = (await page.locator(`.react-flow__node[data-id="${to}"] .react-flow__handle.target`).boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 8 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

describe('editing (Chromium)', () => {
  it('imports YAML, adds a step, draws a route, undoes and redoes; export passes validation and imports to the same map', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepwise-map-'));
    const page = await newPage();
    await page.goto(`${web.url}/app/agents/barista`);
    await expect.poll(() => page.locator('.react-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const original = readFileSync(join(root, 'examples', 'barista', 'barista.agent.yaml'), 'utf8');
    await page.getByTestId('import-file').setInputFiles({ name: 'barista.agent.yaml', mimeType: 'application/yaml', buffer: Buffer.from(original) });
    await expect.poll(() => page.getByTestId('validity').textContent(), { timeout: 15_000 }).toBe('valid');

    await page.getByLabel('New step id').fill('loyalty');
    await page.getByRole('button', { name: 'Add step' }).click();
    await expect.poll(() => page.locator('[data-step="loyalty"]').count(), { timeout: 15_000 }).toBe(1);
    await connect(page, 'step:finalize_order', 'step:loyalty');
    const route = page.locator('.react-flow__edge[data-id="route:finalize_order:1"]');
    await expect.poll(() => route.count(), { timeout: 15_000 }).toBe(1);
    // The new route is selected: give it its condition in the panel.
    await page.getByTestId('route-when').fill('The order is placed');
    await page.getByTestId('route-when').press('Enter');
    await expect.poll(() => page.getByTestId('yaml').inputValue(), { timeout: 15_000 }).toContain('      - target: loyalty\n        condition: The order is placed\n');
    await expect.poll(() => page.getByTestId('validity').textContent(), { timeout: 15_000 }).toBe('valid');
    await page.screenshot({ path: join(SCREENSHOTS, 'flow-builder-editing.png') });

    await page.getByRole('button', { name: 'Undo' }).click(); // the condition
    await page.getByRole('button', { name: 'Undo' }).click(); // the route
    await expect.poll(() => route.count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator('[data-step="loyalty"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Redo' }).click();
    await page.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => route.count(), { timeout: 15_000 }).toBe(1);
    // Select the route on the map and delete it with the Delete key; undo brings it back.
    await route.locator('.react-flow__edge-text').click({ force: true });
    await expect.poll(() => page.getByTestId('route-panel').count(), { timeout: 15_000 }).toBe(1);
    await page.keyboard.press('Delete');
    await expect.poll(() => route.count(), { timeout: 15_000 }).toBe(0);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => route.count(), { timeout: 15_000 }).toBe(1);
    const edited = await page.getByTestId('yaml').inputValue();
    expect(edited).toContain('condition: The order is placed');
    const editedMap = await mapContents(page);

    // Export: the file is what the builder shows, with the rest of the original as written.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export YAML' }).click()]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(exported).toBe(edited);
    expect(exported.startsWith(original.slice(0, original.indexOf('  - step_id: finalize_order')))).toBe(true);
    // `stepwise validate` (the file loader's checks) accepts it, beside the example's tools and script.
    const exportDir = await mkdtemp(join(root, 'examples', '.map-export-'));
    try {
      for (const f of ['tools.ts', 'script.yaml']) await writeFile(join(exportDir, f), readFileSync(join(root, 'examples', 'barista', f)));
      await writeFile(join(exportDir, 'barista.agent.yaml'), exported);
      const checked = await validateAgentFile(join(exportDir, 'barista.agent.yaml'), { env: {} });
      expect(checked.issues.filter((i) => i.severity === 'error')).toEqual([]);
      expect(checked.snapshot?.steps.map((s) => s.id)).toEqual(['greeting', 'take_order', 'finalize_order', 'loyalty']);
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(exportDir, { recursive: true, force: true }));
    }

    // Import the export on a fresh page: the same map.
    const again = await newPage();
    await again.goto(`${web.url}/app/agents/barista`);
    await expect.poll(() => again.locator('.react-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await writeFile(join(dir, 'exported.agent.yaml'), exported);
    await again.getByTestId('import-file').setInputFiles(join(dir, 'exported.agent.yaml'));
    await expect.poll(() => mapContents(again), { timeout: 15_000 }).toEqual(editedMap);
    expect(await again.getByTestId('yaml').inputValue()).toBe(exported);
    await again.context().close();
    await page.context().close();
  });

  it('shows validation errors on the step, with the YAML line', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/app/agents/barista`);
    await expect.poll(() => page.locator('.react-flow__node').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const broken = readFileSync(join(root, 'examples', 'barista', 'barista.agent.yaml'), 'utf8').replace('- target: finalize_order', '- target: finalise_order');
    const line = broken.split('\n').findIndex((l) => l.includes('finalise_order')) + 1;
    await page.getByTestId('import-file').setInputFiles({ name: 'broken.agent.yaml', mimeType: 'application/yaml', buffer: Buffer.from(broken) });
    await expect.poll(() => page.getByTestId('validity').textContent(), { timeout: 15_000 }).toBe('1 error');
    await expect.poll(() => page.locator('.map-step.has-problem').evaluateAll((els) => els.map((e) => e.getAttribute('data-step'))), { timeout: 15_000 }).toEqual(['take_order']);
    expect(await page.getByTestId('problems').textContent()).toContain(`line ${line} steps[1].routes[0].target: route target "finalise_order" is not a step`);
    await page.locator('[data-step="take_order"]').click();
    expect(await page.getByTestId('node-problems').textContent()).toContain(`line ${line}: route target "finalise_order" is not a step`);
    await page.context().close();
  });
});
