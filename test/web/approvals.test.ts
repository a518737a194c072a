/**
 * Approvals in the browser (Chromium): a tool call that needs a human decision pauses the turn; the chat shows it
 * with its arguments and Approve / Deny buttons; approving runs the tool and the turn's final reply arrives; the
 * decision (with the approver, the user id given at start) is in the inspector's timeline. On the in-process backend
 * with the approval engine merged from main (`approvals` in the agent snapshot).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testAgent } from '../support/agents.js';
import { artifactPath, launchBrowser } from '../support/browser.js';
import { scriptedExecutors } from '../support/scripted-executors.js';
import { startWebServer, type WebServer } from '../support/web-server.js';

let web: WebServer;
let browser: Browser;
let toolRuns: string[] = [];

beforeAll(async () => {
  const cashier = testAgent({ name: 'cashier', flows: [], startStepId: 'order', approvals: { add_item: { onTimeout: 'deny' } } });
  const script = [
    { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'latte' } }] },
    { action: 'RESPOND', response: 'Added a latte.' },
    { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: 'cake' } }] },
    { action: 'RESPOND', response: 'No cake then.' },
  ];
  const executors = scriptedExecutors(script, {
    add_item: (args) => {
      toolRuns.push(String(args.item));
      return { added: args.item };
    },
  });
  web = await startWebServer({ extraAgents: [{ agent: cashier, executors }] });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

async function send(page: Page, text: string) {
  const box = page.getByLabel('Message');
  await box.fill(text);
  await box.press('Enter');
}

describe('approvals (Chromium)', () => {
  it('shows a pending tool call with its arguments; Approve runs it, Deny does not', async () => {
    toolRuns = [];
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${web.url}/app/chat`);
    await page.getByLabel('Agent', { exact: true }).selectOption('cashier');
    await page.getByLabel('Your user id (optional)').fill('alice-web');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await page.waitForURL(/\/app\/chat\/[^/]+$/);

    await send(page, 'a latte please');
    const approval = page.locator('.approval');
    await expect.poll(() => approval.count()).toBe(1);
    expect(await approval.textContent()).toContain('add_item');
    expect(await approval.locator('dt').allTextContents()).toEqual(['item']);
    expect(await approval.locator('dd').allTextContents()).toEqual(['latte']);
    expect(await page.locator('.inspector [data-event=approval_requested]').textContent()).toContain('add_item');
    expect(toolRuns).toEqual([]);
    await page.screenshot({ path: artifactPath('approval.png'), fullPage: true });

    await page.getByRole('button', { name: /^Approve add_item/ }).click();
    await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents()).toContain('Agent: Added a latte.');
    expect(await approval.count()).toBe(0);
    expect(toolRuns).toEqual(['latte']);
    expect(await page.locator('.inspector [data-event=approval_decided]').textContent()).toContain('Approved add_item by alice-web');
    expect(await page.locator('.inspector [data-event=tool_result]').textContent()).toContain('latte');

    await send(page, 'and a cake');
    await expect.poll(() => approval.count()).toBe(1);
    await page.getByRole('button', { name: /^Deny add_item/ }).click();
    await expect.poll(() => page.locator('.inspector [data-event=approval_decided]').count()).toBe(2);
    expect(await page.locator('.inspector [data-event=approval_decided]').last().textContent()).toContain('Denied add_item');
    await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents()).toContain('Agent: No cake then.');
    expect(toolRuns).toEqual(['latte']); // the denied call never ran
    expect(await approval.count()).toBe(0);
    await page.context().close();
  });
});
