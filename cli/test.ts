/**
 * `stepwise test [tests.agent.yaml]`: runs an agent's test file (NOMOS format, see cli/agent-tests/schema.ts) and
 * prints one line per case and a summary; `--junit <file>` also writes a JUnit XML report (junit-report-builder) for
 * CI. Exit codes: 0 all passed (skipped cases do not fail), 1 a case failed, 2 the tests file, the agent or the judge
 * model cannot be used.
 */
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Builder } from 'junit-report-builder';
import { type CaseResult, runAgentTests, TestConfigError } from './agent-tests/run.js';

export interface TestCommandOptions {
  junit?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  error?: (line: string) => void;
}

// The package is CommonJS whose `module.exports` is the builder itself (its typings declare it as `default`).
const junit = createRequire(import.meta.url)('junit-report-builder') as Builder;

/** Exit codes of `stepwise test`. */
export const TEST_EXIT = { passed: 0, failed: 1, configError: 2 } as const;

/** Runs the tests file at `path` (default `tests.agent.yaml` in the working directory) and resolves with the exit code. */
export async function runTestCommand(path = 'tests.agent.yaml', opts: TestCommandOptions = {}): Promise<number> {
  const log = opts.log ?? ((l) => console.log(l));
  const error = opts.error ?? ((l) => console.error(l));
  let results: CaseResult[];
  try {
    results = await runAgentTests(resolve(path), { env: opts.env });
  } catch (err) {
    if (err instanceof TestConfigError) {
      error(`config error: ${err.message}`);
      return TEST_EXIT.configError;
    }
    throw err;
  }
  for (const r of results) {
    const mark = r.status === 'passed' ? 'PASS' : r.status === 'failed' ? 'FAIL' : 'SKIP';
    log(`${mark} ${r.suite}.${r.name} (${r.durationMs} ms)${r.message ? ` — ${r.message}` : ''}`);
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  log(`${results.length} tests: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
  if (opts.junit) {
    writeJunit(resolve(opts.junit), path, results);
    log(`JUnit report: ${opts.junit}`);
  }
  return count('failed') > 0 ? TEST_EXIT.failed : TEST_EXIT.passed;
}

/** Writes a JUnit XML report: one suite per kind (`unit`, `e2e`), one case per test, the transcript as system-out. */
function writeJunit(file: string, testsPath: string, results: CaseResult[]): void {
  const builder = junit.newBuilder();
  for (const kind of ['unit', 'e2e'] as const) {
    const cases = results.filter((r) => r.suite === kind);
    if (cases.length === 0) continue;
    const suite = builder.testSuite().name(`${testsPath} ${kind}`);
    for (const r of cases) {
      const tc = suite.testCase().className(kind).name(r.name).time(r.durationMs / 1000);
      tc.standardOutput(r.transcript.map((l) => `[${l.role}] ${l.text}`).join('\n'));
      if (r.status === 'failed') tc.failure(r.message ?? 'failed');
      if (r.status === 'skipped') tc.skipped();
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  builder.writeTo(file);
}
