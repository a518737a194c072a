/**
 * Attachments in the web app, in a real browser (Debian's Chromium through playwright-core): the user attaches an
 * image and a PDF in the chat (the composer's file input), the message goes as `multipart/form-data`, and the
 * transcript shows the image as a thumbnail loaded from `GET /sessions/:id/files/:fileId` and the PDF as a link;
 * after a reload the same, from the events alone. The app is this checkout's (`currentWebBuild`: `web/dist`, or a
 * fresh build when that is older than `web/src`), served by the real API over the in-process backend with the
 * in-memory archive.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { testAgent } from '../support/agents.js';
import { listen } from '../support/ai-chat.js';
import { build, type Harness } from '../support/api.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { PDF_MINIMAL, PNG_1X1 } from '../support/model-attachments.js';
import { currentWebBuild } from '../support/web-server.js';

let h: Harness;
let baseUrl: string;
let browser: Browser;
const files = mkdtempSync(join(tmpdir(), 'stepwise-web-files-'));

beforeAll(async () => {
  const distDir = await currentWebBuild();
  h = await build({
    agents: [testAgent({ llms: { global: { provider: 'openai', model: 'gpt-4o' } } }), testAgent({ name: 'plain' })],
    script: [{ action: 'RESPOND', response: 'A tiny picture and a menu.' }],
    app: { archive: new InMemoryArchiveStore(), web: { distDir } },
  });
  baseUrl = await listen(h.app);
  writeFileSync(join(files, 'dot.png'), PNG_1X1);
  writeFileSync(join(files, 'menu.pdf'), PDF_MINIMAL);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.app.close();
});

describe('attachments in the chat', () => {
  it('attach an image and a PDF, send, see a thumbnail and a link; a reload shows them again', async () => {
    const started = await h.app.inject({ method: 'POST', url: '/sessions', payload: { agentId: 'test-agent', sessionId: 'web-files' } });
    expect(started.statusCode).toBe(201);
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const posted: Array<{ contentType: string | undefined }> = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/sessions/web-files/messages')) posted.push({ contentType: r.headers()['content-type'] });
    });
    await page.goto(`${baseUrl}/app/chat/web-files`);
    await page.getByTestId('attach').setInputFiles([join(files, 'dot.png'), join(files, 'menu.pdf')]);
    await expect.poll(() => page.locator('.attached li').allTextContents()).toEqual([expect.stringContaining('dot.png'), expect.stringContaining('menu.pdf')]);
    await page.getByLabel('Message').fill('What are these?');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents(), { timeout: 10_000 }).toEqual([expect.stringContaining('A tiny picture and a menu.')]);
    expect(posted[0]?.contentType).toMatch(/^multipart\/form-data; boundary=/);

    // The model was asked with references to both files.
    const refs = h.executors.decideRequests[0]!.messages.at(-1)!.files!;
    expect(refs.map((f) => [f.mediaType, f.name])).toEqual([['image/png', 'dot.png'], ['application/pdf', 'menu.pdf']]);

    const check = async () => {
      const thumb = page.locator('.transcript [data-role=user] img.thumb');
      await expect.poll(() => thumb.evaluate((node) => { const img = node as unknown as { complete: boolean; naturalWidth: number }; return img.complete && img.naturalWidth; })).toBe(1);
      expect(await thumb.getAttribute('src')).toBe(`/sessions/web-files/files/${refs[0]!.fileId}`);
      expect(await thumb.getAttribute('alt')).toBe('dot.png');
      const link = page.locator('.transcript [data-role=user] a.file-link');
      expect(await link.textContent()).toContain('menu.pdf');
      expect(await link.getAttribute('href')).toBe(`/sessions/web-files/files/${refs[1]!.fileId}`);
    };
    await check();
    expect(await page.locator('.attached li').count()).toBe(0); // the composer is cleared
    await page.screenshot({ path: artifactPath('chat-attachments.png') });
    await page.reload();
    await check();
    expect(await page.getByTestId('attach').count()).toBe(1);
    // The PDF link serves the stored bytes.
    const pdf = await page.request.get(`${baseUrl}/sessions/web-files/files/${refs[1]!.fileId}`);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect(Buffer.compare(await pdf.body(), PDF_MINIMAL)).toBe(0);
  }, 60_000);

  it("offers no Attach button where the agent's model takes no files (scripted)", async () => {
    expect((await h.app.inject({ method: 'POST', url: '/sessions', payload: { agentId: 'plain', sessionId: 'web-plain' } })).statusCode).toBe(201);
    const page = await (await browser.newContext()).newPage();
    // The page decides from the agent's snapshot: look only after it arrived and the page drew again.
    const snapshot = page.waitForResponse((r) => r.url().endsWith('/agents/plain') && r.ok());
    await page.goto(`${baseUrl}/app/chat/web-plain`);
    await snapshot;
    await page.getByLabel('Message').waitFor();
    await page.evaluate(() => new Promise((resolve) => (globalThis as unknown as { requestAnimationFrame: (f: () => void) => void }).requestAnimationFrame(() => resolve(null))));
    await expect.poll(() => page.locator('.chat-head').textContent()).toContain('plain');
    expect(await page.getByTestId('attach').count()).toBe(0);
  }, 30_000);
});
