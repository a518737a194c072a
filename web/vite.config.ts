/**
 * Builds the browser app into `web/dist` (`npm run build:web`, run by `npm install` through the root `prepare`
 * script). Preact's automatic JSX runtime through esbuild (no Babel); no CDN at run time: everything is bundled.
 * `api/plugins/web.ts` serves `dist/index.html` at `/` and `/app*`, and `dist/assets/*` at `/assets/*`.
 *
 * React libraries (the flow builder's `@xyflow/react`) run on Preact through `preact/compat`: `react` and
 * `react-dom` resolve to it here and in `tsconfig.json` (`paths`), so the app stays one small Preact bundle.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: [
      { find: /^react$/, replacement: 'preact/compat' },
      { find: /^react-dom$/, replacement: 'preact/compat' },
      { find: /^react-dom\/client$/, replacement: 'preact/compat/client' },
      { find: /^react\/jsx-runtime$/, replacement: 'preact/jsx-runtime' },
      { find: /^react\/jsx-dev-runtime$/, replacement: 'preact/jsx-runtime' },
    ],
  },
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2_000 },
  logLevel: 'warn',
});
