// `npm install`'s `prepare` step: builds the web app into web/dist with Vite. Where dev dependencies are left out
// (`npm ci --omit=dev`, a production install) Vite is missing: say so and succeed, so the install still works; the
// API then answers the app's paths with a page saying how to build it. Runs from the repository root.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
let vite;
try {
  vite = await import('vite');
} catch {
  console.warn('stepwise: vite is not installed (dev dependencies omitted); the web app was not built. Run `npm run build:web` where it is.');
  process.exit(0);
}
await vite.build({ root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
console.log(`stepwise: web app built into ${join(root, 'dist')}`);
