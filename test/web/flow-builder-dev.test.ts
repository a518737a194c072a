/**
 * The flow builder's Save in `stepwise dev` (the real command, a child process) on Temporal's real dev server (the
 * test run's, through `TEMPORAL_ADDRESS`), with Chromium: the Agent page edits the agent's own file (a copy of the
 * example barista), shows the diff, saves; the dev server reloads the agent; a session started before the save keeps
 * the config it was started with (its pinned snapshot: it still moves to take_order), a new session starts at the new
 * step. Screenshot: docs/screenshots/flow-builder-dev-save.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { closedPort } from '../support/net.js';
import { temporalServer } from '../support/temporal.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;
let dev: ChildProcess;
let output = '';
let browser: Browser;

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

let url: string;
beforeAll(async () => {
  // A copy of the barista beside the examples (its tool module imports ../../src/tools.js); dot dirs are not agents.
  dir = await mkdtemp(join(root, 'examples', '.dev-builder-'));
  await cp(join(root, 'examples', 'barista'), dir, { recursive: true });
  const temporal = temporalServer();
  url = await startDev({
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    STEPWISE_TASK_QUEUE: `stepwise-builder-dev-${process.pid}`,
    PORT: String(await closedPort()),
    DATABASE_URL: '',
    OPENAI_API_KEY: '',
    ANTHROPIC_API_KEY: '',
    STEPWISE_AGENTS: dir,
  });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    dev.kill('SIGTERM');
    await Promise.race([once(dev, 'exit'), new Promise((r) => setTimeout(r, 15_000))]);
    if (dev.exitCode === null) dev.kill('SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const stepOf = async (sessionId: string) => ((await (await fetch(`${url}/sessions/${sessionId}`)).json()) as { stepId: string }).stepId;

describe('flow builder Save in `stepwise dev` (real Temporal, Chromium)', () => {
  it('saves the edited YAML to the file after showing the diff; running sessions keep their config, new ones use the new step', async () => {
    const before = `builder-before-${process.pid}`;
    expect((await post('/sessions', { agentId: 'barista', sessionId: before, message: 'Hi there!' })).status).toBe(201);
    expect(await stepOf(before)).toBe('greeting');
    const original = await readFile(join(dir, 'barista.agent.yaml'), 'utf8');

    const page = await (await browser.newContext({ viewport: { width: 1440, height: 960 } })).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${url}/app/agents/barista`);
    // In dev the page edits the agent's file.
    await expect.poll(() => page.locator('.agent-head h1').textContent(), { timeout: 20_000 }).toContain('barista.agent.yaml');
    await page.getByLabel('New step id').fill('welcome_back');
    await page.getByRole('button', { name: 'Add step' }).click();
    await expect.poll(() => page.locator('[data-step="welcome_back"]').count(), { timeout: 20_000 }).toBe(1);
    await page.getByTestId('step-description').fill('Greet a returning customer by name, then ask what they would like.');
    await page.getByTestId('step-description').blur();
    await page.getByRole('button', { name: 'Make start step' }).click();
    await expect.poll(() => page.locator('[data-step="welcome_back"] .mark-start').count()).toBe(1);
    await expect.poll(() => page.getByTestId('validity').textContent(), { timeout: 20_000 }).toBe('valid');

    await page.getByRole('button', { name: 'Save…' }).click();
    const diff = page.getByTestId('diff');
    expect(await diff.textContent()).toContain('+   - step_id: welcome_back');
    expect(await diff.textContent()).toContain('- start_step_id: greeting');
    await page.screenshot({ path: join(root, 'docs', 'screenshots', 'flow-builder-dev-save.png') });
    await page.getByRole('button', { name: 'Save to file' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).count(), { timeout: 20_000 }).toBe(1);

    const saved = await readFile(join(dir, 'barista.agent.yaml'), 'utf8');
    expect(saved).toContain('start_step_id: welcome_back\n');
    expect(saved).toContain('  - step_id: welcome_back\n    description: Greet a returning customer by name, then ask what they would like.\n');
    // Everything else is as written (comments included).
    expect(saved.replace('start_step_id: welcome_back', 'start_step_id: greeting').replace(/\n\n {2}- step_id: welcome_back\n[^\n]+\n/, '\n')).toBe(original);
    // The dev server reloaded it: the API's agent and graph have the new step.
    const agent = (await (await fetch(`${url}/agents/barista`)).json()) as { startStepId: string };
    expect(agent.startStepId).toBe('welcome_back');

    // The session started before the save keeps its pinned config: greeting's route to take_order still exists there.
    expect((await post(`/sessions/${before}/messages`, { text: 'Can I see the menu?' })).status).toBe(200);
    expect(await stepOf(before)).toBe('take_order');
    // A new session starts at the new step and answers there.
    const after = `builder-after-${process.pid}`;
    const started = await post('/sessions', { agentId: 'barista', sessionId: after, message: 'Hi there!' });
    expect(started.status).toBe(201);
    expect(await stepOf(after)).toBe('welcome_back');
    await page.context().close();
  }, 180_000);
});
