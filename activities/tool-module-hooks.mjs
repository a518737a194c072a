/**
 * Node module-resolution hooks for agent tool modules (registered by `registerToolModuleHooks` in `./tools.ts`).
 *
 * NOMOS users keep their tools next to their YAML, in a folder with no `package.json` of its own. Two things then
 * break a plain `import()` of a `.ts` tool module:
 * 1. without a `package.json` declaring `"type": "module"`, Node (and tsx) treat a `.ts` file as CommonJS, and an ES
 *    module written in it fails ("Cannot require() ES Module ... in a cycle");
 * 2. a bare import (`import { z } from 'zod'`) finds no `node_modules` above the tool folder.
 * So: a `.ts`/`.tsx` file with no `package.json` above it loads as an ES module, and a bare import from such a file that
 * does not resolve is resolved from Stepwise's own installation instead.
 *
 * Plain JavaScript: Node runs hooks in a separate thread, before any TypeScript loader applies.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const STEPWISE_URL = new URL('../package.json', import.meta.url).href;

/** Whether a `package.json` exists in the file's folder or any folder above it. */
function underPackageJson(file) {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return true;
    const parent = dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

function isLooseTsFile(url) {
  return url.startsWith('file:') && /\.(ts|tsx)$/.test(new URL(url).pathname) && !underPackageJson(fileURLToPath(url));
}

export async function resolve(specifier, context, next) {
  let resolved;
  try {
    resolved = await next(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|[a-z]+:)/i.test(specifier);
    if (!bare || !context.parentURL || !isLooseTsFile(context.parentURL)) throw err;
    resolved = await next(specifier, { ...context, parentURL: STEPWISE_URL });
  }
  return isLooseTsFile(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}
