/**
 * A new user's walk through the web app with the example barista (issue "See and steer conversations", Done when):
 * start a chat, hold the scripted conversation (examples/barista/conversation.txt), watch the turn in the inspector,
 * approve `place_order` when the turn waits for it, see the session end, then find it in the sessions list and open it
 * read-only. Shared by the browser test on the in-process backend (test/web/app.test.ts) and the one against a real
 * `stepwise dev` on Temporal's dev server (test/web/dev.test.ts). Every step asserts what the user would see.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { artifactPath } from './browser.js';

/** Types a message, sends it with Enter, and waits until an agent reply matching `expectReply` is shown. */
export async function say(page: Page, text: string, expectReply: string | RegExp, timeout = 10_000): Promise<void> {
  const box = page.getByLabel('Message');
  await box.fill(text);
  await box.press('Enter');
  await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents(), { timeout }).toEqual(
    expect.arrayContaining([expect.stringMatching(expectReply)]),
  );
}

/** The transcript's lines (messages, replies and notices such as "Session ended"). */
export const transcript = (page: Page) => page.locator('.transcript li').allTextContents();

/** Options of {@link chatWithBarista}. */
export interface JourneyOptions {
  /** The app's base URL (`http://host:port`). */
  baseUrl: string;
  /** User id typed on the start page; recorded as the approver. */
  userId: string;
  /** Screenshot name prefix under test/web/artifacts/ (e.g. `dev-`); default none. */
  shots?: string;
  /** Per-reply wait in ms (a real worker on a busy machine is slower than the in-process backend). Default 10,000. */
  timeout?: number;
}

/**
 * From the start page to the END of the barista's scripted conversation, approving `place_order` in the chat.
 * Returns the session id (from the chat's URL).
 */
export async function chatWithBarista(page: Page, opts: JourneyOptions): Promise<string> {
  const timeout = opts.timeout ?? 10_000;
  const shot = (name: string) => page.screenshot({ path: artifactPath(`${opts.shots ?? ''}${name}`), fullPage: true });
  await page.goto(`${opts.baseUrl}/`);
  await page.getByLabel('Agent', { exact: true }).selectOption('barista');
  await page.getByLabel('Your user id (optional)').fill(opts.userId);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.waitForURL(/\/app\/chat\/[^/]+$/);
  const sessionId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  await say(page, 'Hi there!', /Welcome/, timeout);
  await say(page, 'Can I see the menu?', /Drinks/, timeout);

  // The turn in the inspector: the move to take_order, the flow, the tool call and its result.
  const inspector = page.getByRole('complementary', { name: 'Inspector' });
  await expect.poll(() => page.getByTestId('current-step').textContent(), { timeout }).toBe('take_order');
  expect(await inspector.locator('[data-event=step_change]').first().textContent()).toContain('greeting → take_order');
  expect(await inspector.locator('[data-event=flow_enter]').textContent()).toContain('Entered flow order_flow');
  expect(await inspector.locator('[data-event=tool_call]').first().textContent()).toContain('get_menu');
  expect(await inspector.locator('[data-event=tool_result]').first().textContent()).toContain('espresso');
  await shot('chat.png');

  await say(page, "I'll have a large mocha latte and a croissant, please.", /Got it/, timeout);
  await say(page, "Actually, swap the croissant for a blueberry muffin. That's everything.", /\$8\.25 in total/, timeout);

  // Placing the order waits for a person: nothing runs until Approve.
  const box = page.getByLabel('Message');
  await box.fill("Yes, please. The name's Sam.");
  await box.press('Enter');
  const approval = page.locator('.approval');
  await expect.poll(() => approval.count(), { timeout }).toBe(1);
  expect(await approval.textContent()).toContain('place_order');
  expect(await approval.locator('dd').allTextContents()).toEqual(['Sam']);
  await expect.poll(() => inspector.locator('[data-event=approval_requested]').count(), { timeout }).toBe(1);
  expect(await inspector.locator('[data-event=approval_requested]').textContent()).toContain('place_order');
  const placed = async () => (await inspector.locator('[data-event=tool_result]').allTextContents()).some((t) => t.includes('ready_in_minutes'));
  expect(await placed()).toBe(false);
  expect(await page.getByRole('status').filter({ hasText: 'approval' }).textContent()).toBe('The turn waits for approval.');
  await shot('approval-barista.png');

  await page.getByRole('button', { name: /^Approve place_order/ }).click();
  await expect.poll(() => page.locator('.transcript [data-role=agent]').allTextContents(), { timeout }).toEqual(
    expect.arrayContaining([expect.stringContaining('Your order is in, Sam!')]),
  );
  expect(await approval.count()).toBe(0);
  expect(await placed()).toBe(true);
  expect(await inspector.locator('[data-event=approval_decided]').textContent()).toContain(`Approved place_order by ${opts.userId}`);
  await say(page, 'Great, thanks. Bye!', /See you next time/, timeout);
  await expect.poll(() => transcript(page), { timeout }).toEqual(expect.arrayContaining([expect.stringContaining('Session ended (end action)')]));
  return sessionId;
}

/**
 * From the chat to the sessions list: filters by the journey's user, finds `sessionId` ended, opens it read-only and
 * checks the whole conversation, the approval and the flow exit are there.
 */
export async function openFromList(page: Page, sessionId: string, opts: JourneyOptions): Promise<void> {
  const timeout = opts.timeout ?? 10_000;
  await page.getByRole('link', { name: 'Sessions', exact: true }).click();
  await page.waitForURL(/\/app\/sessions$/);
  const rows = page.locator('table.sessions tbody tr');
  await page.getByLabel('User').fill(opts.userId);
  await page.getByLabel('User').press('Enter');
  await page.waitForURL(new RegExp(`userId=${opts.userId}`));
  await expect.poll(() => rows.count(), { timeout }).toBe(1);
  // Polled too: the row can be re-rendered (its cells momentarily gone) as the filtered list replaces the first one.
  await expect.poll(() => rows.first().locator('td').allTextContents(), { timeout }).toEqual(expect.arrayContaining([sessionId, 'barista', 'ended', opts.userId]));
  await page.screenshot({ path: artifactPath(`${opts.shots ?? ''}sessions.png`), fullPage: true });

  await page.getByRole('link', { name: sessionId }).click();
  await page.waitForURL(new RegExp(`/app/sessions/${encodeURIComponent(sessionId)}$`));
  await expect.poll(() => transcript(page), { timeout }).toHaveLength(6 * 2 + 1); // 6 messages, 6 replies, "Session ended"
  expect((await transcript(page)).at(-1)).toContain('Session ended (end action)');
  // The session's state (GET /sessions/:id; for an ended workflow a query the worker answers by replaying it).
  await expect.poll(() => page.locator('#chat-title').textContent(), { timeout }).toContain('barista');
  expect(await page.getByRole('complementary', { name: 'Inspector' }).textContent()).toContain('ended');
  expect(await page.getByLabel('Message').count()).toBe(0); // read-only: no composer
  expect(await page.locator('.approval').count()).toBe(0);
  expect(await page.locator('.inspector [data-event=approval_decided]').textContent()).toContain(`Approved place_order by ${opts.userId}`);
  expect(await page.locator('.inspector [data-event=flow_exit]').textContent()).toContain('Left flow order_flow');
  expect(await page.locator('.inspector [data-event=tool_result]').allTextContents()).toEqual(
    expect.arrayContaining([expect.stringContaining('8.25')]),
  );
  await page.screenshot({ path: artifactPath(`${opts.shots ?? ''}session-readonly.png`), fullPage: true });
}
