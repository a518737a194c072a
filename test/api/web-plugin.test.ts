/**
 * `api/plugins/web.ts` without a browser: what the app paths answer with and without a build, and that the web
 * routes stay out of the OpenAPI document. (The app itself is tested in a real browser: test/web.)
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { build, type Harness } from '../support/api.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

describe('web plugin', () => {
  it('without a build: the app paths answer 503 with how to build it; the API works', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'stepwise-web-'));
    h = await build({ app: { web: { distDir: empty } } });
    for (const url of ['/', '/app', '/app/chat/s-1']) {
      const res = await h.app.inject({ url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('npm run build:web');
    }
    expect((await h.app.inject({ url: '/agents' })).statusCode).toBe(200);
    expect((await h.app.inject({ url: '/assets/index.js' })).statusCode).toBe(404);
    expect((await h.app.inject({ url: '/favicon.ico' })).statusCode).toBe(204); // not a 404 on every page load
  });

  it("serves the build's icon at /favicon.svg and /favicon.ico, without credentials; index.html links it", async () => {
    const dist = mkdtempSync(join(tmpdir(), 'stepwise-web-'));
    const icon = readFileSync(join(import.meta.dirname, '..', '..', 'web', 'public', 'favicon.svg'), 'utf8');
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dist, 'favicon.svg'), icon);
    h = await build({ app: { web: { distDir: dist }, auth: loadApiConfig({ STEPWISE_API_KEYS: 'k' }).auth } });
    for (const url of ['/favicon.svg', '/favicon.ico']) {
      const res = await h.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('image/svg+xml');
      expect(res.body).toBe(icon);
    }
    expect((await h.app.inject({ url: '/sessions' })).statusCode).toBe(401);
    const html = readFileSync(join(import.meta.dirname, '..', '..', 'web', 'index.html'), 'utf8');
    expect(html).toContain('<link rel="icon" href="/favicon.svg" type="image/svg+xml" />');
  });

  it('with a build: index.html (not cached) for app paths, hashed assets cached for a year, the config', async () => {
    const dist = mkdtempSync(join(tmpdir(), 'stepwise-web-'));
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title><script src="/assets/index-abc.js"></script>');
    writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
    h = await build({ app: { web: { distDir: dist, temporalUiUrl: 'https://ui.example/', namespace: 'ns1' } } });
    for (const url of ['/', '/app', '/app/sessions', '/app/sessions/a%20b']) {
      const res = await h.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.body).toContain('<title>app</title>');
    }
    const js = await h.app.inject({ url: '/assets/index-abc.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await h.app.inject({ url: '/assets/../index.html' })).statusCode).not.toBe(200);
    const config = await h.app.inject({ url: '/app/config.json' });
    expect(config.json()).toEqual({ temporalUiUrl: 'https://ui.example', namespace: 'ns1' });
    // Unknown non-app paths are still the API's 404 JSON error.
    const missing = await h.app.inject({ url: '/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
  });

  it('keeps the web routes out of the OpenAPI document', async () => {
    h = await build();
    const doc = (await h.app.inject({ url: '/docs/json' })).json();
    const paths = Object.keys(doc.paths);
    expect(paths).toContain('/sessions');
    expect(paths.filter((p) => p === '/' || p.startsWith('/app') || p.startsWith('/assets'))).toEqual([]);
  });
});
