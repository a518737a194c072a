/**
 * A prebuilt workflow bundle, so a (re)started worker polls within about a second instead of bundling the workflow
 * code with webpack first (~5-8 s on 2 cores): part of getting a crashed worker's turns moving again quickly.
 *
 * The bundle is keyed by a SHA-256 of everything it is built from (the sources under workflows/ and src/, and the
 * installed @temporalio/workflow version), cached as `<cacheDir>/workflows-<hash>.js`, built on first use by
 * whichever process needs it first (written to a temp file, then renamed: concurrent workers never read half a file).
 * A changed source gives a new hash, so a stale bundle is never used. `npm install` builds it (`postinstall`), and so
 * does `stepwise worker`/`dev` on first start after a change.
 *
 * Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from './workflows-path.js';

const root = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs|json)$/.test(entry.name) ? [path] : [];
  });
}

/**
 * SHA-256 (hex, 16 chars) over the bundle's inputs: workflows/ and src/ sources, the @temporalio/workflow version, and
 * any workflow interceptor modules (their contents: e.g. OpenTelemetry's, bundled in when tracing is on).
 */
export function workflowBundleHash(interceptorModules: readonly string[] = []): string {
  const hash = createHash('sha256');
  const version = (createRequire(import.meta.url)('@temporalio/workflow/package.json') as { version: string }).version;
  hash.update(`@temporalio/workflow@${version}\n`);
  for (const module of interceptorModules) {
    hash.update(`interceptor ${relative(root, module)}\n`);
    hash.update(readFileSync(module));
  }
  for (const file of [...sourceFiles(join(root, 'workflows')), ...sourceFiles(join(root, 'src'))].sort()) {
    hash.update(`${relative(root, file)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Default cache folder: `.stepwise/cache` in the package, or the OS temp dir where the package is read-only. */
export function defaultBundleCacheDir(): string {
  const local = join(root, '.stepwise', 'cache');
  try {
    mkdirSync(local, { recursive: true });
    return local;
  } catch {
    return join(tmpdir(), 'stepwise-cache');
  }
}

/**
 * Path of the prebuilt bundle for the current sources, building it when missing.
 *
 * @throws whatever `bundleWorkflowCode` throws (a workflow that does not compile or imports a Node module: not
 *   retryable without a code change), or a file-system error writing the cache.
 */
export async function prebuiltWorkflowBundle(
  cacheDir = defaultBundleCacheDir(),
  /** Workflow interceptor modules to bundle in (`WorkerOptions.interceptors.workflowModules`). Default none. */
  workflowInterceptorModules: readonly string[] = [],
): Promise<{ codePath: string; built: boolean }> {
  mkdirSync(cacheDir, { recursive: true });
  const codePath = join(cacheDir, `workflows-${workflowBundleHash(workflowInterceptorModules)}.js`);
  if (existsSync(codePath) && statSync(codePath).size > 0) return { codePath, built: false };
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [...workflowInterceptorModules], logger: undefined });
  const temp = `${codePath}.${process.pid}.tmp`;
  writeFileSync(temp, code);
  renameSync(temp, codePath);
  return { codePath, built: true };
}
