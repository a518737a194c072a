/**
 * Builds the browser app into `web/dist` (`npm run build:web`, run by `npm install` through the root `prepare`
 * script). Preact's automatic JSX runtime through esbuild (no Babel); no CDN at run time: everything is bundled.
 * `api/plugins/web.ts` serves `dist/index.html` at `/` and `/app*`, and `dist/assets/*` at `/assets/*`.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', target: 'es2022', sourcemap: true },
  logLevel: 'warn',
});
