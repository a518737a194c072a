/**
 * The web inspector shows the session's token usage and cost, and the session page its name, in a real browser
 * (Debian's Chromium through playwright-core). The app is built from this checkout's `web/` into a temp directory
 * (not `web/dist`, which may be another checkout's build), served by the API over the in-process backend whose model
 * calls go through the official `openai` SDK to the fake model server (11 + 7 tokens per completion).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { buildApp } from '../../api/app.js';
import { localExecutors } from '../../cli/local-executors.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import { testAgent } from '../support/agents.js';
import { listen } from '../support/ai-chat.js';
import { launchBrowser } from '../support/browser.js';
import { type FakeModelServer, startFakeModelServer } from '../support/fake-model-server.js';

const root = join(import.meta.dirname, '..', '..');

describe('token usage in the web inspector', () => {
  let browser: Browser;
  let fake: FakeModelServer;
  let distDir: string;

  beforeAll(async () => {
    distDir = mkdtempSync(join(tmpdir(), 'stepwise-web-'));
    await viteBuild({ root: join(root, 'web'), configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir: distDir, emptyOutDir: true } });
    [browser, fake] = await Promise.all([launchBrowser(), startFakeModelServer()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fake?.close();
  });

  it('shows tokens in and out with the cost, and the session name as the title', async () => {
    const agent = testAgent({
      llms: { global: { provider: 'openai', model: 'gpt-4.1-mini', baseUrl: fake.openaiBaseUrl, apiKeyEnv: 'STEPWISE_TEST_KEY' } },
      prices: { 'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 } },
    });
    const activities = createActivities({ models: new ModelCache({ env: { STEPWISE_TEST_KEY: 'sk-test-0123456789abcdef' } }), tools: new Map() });
    const app = await buildApp({
      backend: new LocalSessions({ executors: () => localExecutors(activities) }),
      agents: new Map([[agent.name, agent]]),
      web: { distDir },
    });
    try {
      const url = await listen(app);
      fake.enqueue({ action: 'RESPOND', response: 'Hello there.' });
      const created = await app.inject({ method: 'POST', url: '/sessions', payload: { agentId: agent.name, sessionId: 'web-usage', name: 'Latte order', message: 'hi' } });
      expect(created.statusCode).toBe(201);
      const page = await browser.newPage();
      await page.goto(`${url}/app/sessions/web-usage`);
      await expect.poll(() => page.getByTestId('session-usage').textContent(), { timeout: 15_000 }).toBe('11 in · 7 out · $0.000016');
      expect(await page.getByTestId('session-usage').getAttribute('title')).toBe('1 model call');
      expect(await page.locator('#chat-title').textContent()).toContain('Latte order');
      await page.close();
    } finally {
      await app.close();
    }
  }, 60_000);
});
