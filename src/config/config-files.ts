/**
 * The files config normalisation may look at (a `script`, an `answer_model` JSON Schema file), injected so that
 * `src/` stays free of file I/O (docs/architecture.md). `runtime/agents/config-files.ts` gives the Node
 * implementation; tests may pass an in-memory one.
 */
export interface ConfigFiles {
  /** Directory of the agent's YAML file: the base of relative paths written in it. */
  baseDir: string;
  /** True when `absPath` names an existing regular file. */
  isFile(absPath: string): boolean;
  /** The file's UTF-8 text, or `undefined` when it cannot be read. Never throws. */
  readText(absPath: string): string | undefined;
}
