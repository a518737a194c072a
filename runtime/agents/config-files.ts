/** The Node implementation of {@link ConfigFiles}: the agent file's folder on disk. */
import { readFileSync, statSync } from 'node:fs';
import type { ConfigFiles } from '../../src/config/config-files.js';

/** {@link ConfigFiles} reading from disk, relative paths based at `baseDir` (the agent YAML's folder). */
export function nodeConfigFiles(baseDir: string): ConfigFiles {
  return {
    baseDir,
    isFile: (absPath) => statSync(absPath, { throwIfNoEntry: false })?.isFile() ?? false,
    readText: (absPath) => {
      try {
        return readFileSync(absPath, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
