/**
 * `stepwise validate <config...>`: checks agent YAML files (or directories of them) and prints every problem as
 * `file:line:col path: message`.
 */
import { validateAgentFiles } from '../runtime/agents/load.js';
import { formatConfigIssue } from '../src/errors.js';

/** Where {@link runValidate} writes: `log` for `ok:` lines and warnings, `error` for errors. */
export interface ValidateOutput {
  log(s: string): void;
  error(s: string): void;
}

/**
 * Validates each path (a YAML file, or a directory expanded like `STEPWISE_AGENTS`) and prints, per valid file,
 * `ok: <file> (agent <name>, <n> steps, <m> flows, <k> tools)`; warnings and errors are printed with
 * `formatConfigIssue`. Never throws for config problems.
 *
 * @returns the process exit code: 0 when no errors were found (warnings allowed), 1 otherwise (also when `paths` is
 *   empty).
 */
export async function runValidate(paths: string[], out: ValidateOutput, options: { env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  if (paths.length === 0) {
    out.error('no config given: stepwise validate <file-or-dir>...');
    return 1;
  }
  const { files, issues } = await validateAgentFiles(paths, options);
  for (const issue of issues) {
    if (issue.severity === 'warning') out.log(formatConfigIssue(issue));
    else out.error(formatConfigIssue(issue));
  }
  for (const { file, snapshot } of files) {
    if (!snapshot) continue;
    out.log(
      `ok: ${file} (agent ${snapshot.name}, ${snapshot.steps.length} steps, ${snapshot.flows.length} flows, ${snapshot.tools.length} tools)`,
    );
  }
  return issues.some((i) => i.severity === 'error') ? 1 : 0;
}
