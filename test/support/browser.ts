/**
 * A real browser for the web app's tests: Debian's Chromium (`/usr/bin/chromium`, the `chromium` package; `.ci/run`
 * installs it) driven by `playwright-core` over CDP. Never downloads a browser (`npx playwright install` is not used).
 * `CHROMIUM_PATH` overrides the binary.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Screenshots of each view land here (git-ignored); CI can keep them as artifacts. */
export const ARTIFACTS_DIR = join(import.meta.dirname, '..', 'web', 'artifacts');

/**
 * Launches headless Chromium.
 * @throws Error naming the missing binary and the Debian package when Chromium is not installed.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's \`chromium\` package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Path for a screenshot named `name` (creates the artifacts directory). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return join(ARTIFACTS_DIR, name);
}
