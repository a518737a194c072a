/**
 * `stepwise` command line (commander). Each command imports its implementation lazily so `stepwise --help` and
 * `stepwise validate` start fast and never touch Temporal.
 */
import { Command } from 'commander';

const program = new Command();
program
  .name('stepwise')
  .description('Durable step-and-flow conversational agents on Temporal')
  .version('0.1.0');

program
  .command('dev')
  .description('Temporal dev server + worker + API in one process (uses TEMPORAL_ADDRESS instead if set)')
  .option('--no-archive', 'no embedded archive (PGlite in .stepwise/archive) when DATABASE_URL is not set')
  .action(async (opts: { archive: boolean }) => {
    const { runDev } = await import('./dev.js');
    process.exitCode = await runDev(process.env, { archive: opts.archive });
  });

program
  .command('temporal-cli')
  .description('Find, download or build the `temporal` CLI (Temporal\'s dev server) and print its path')
  .action(async () => {
    const { ensureTemporalCli } = await import('./temporal-cli.js');
    const cli = await ensureTemporalCli({ log: (line) => console.error(line) });
    console.log(cli.path);
  });

program
  .command('bundle')
  .description('Build the prebuilt workflow bundle (workers then start polling in about a second); prints its path')
  .action(async () => {
    const { prebuiltWorkflowBundle } = await import('../workers/workflow-bundle.js');
    const { codePath, built } = await prebuiltWorkflowBundle();
    console.log(`${codePath}${built ? '' : ' (already built)'}`);
  });

program
  .command('worker')
  .description('Run a worker (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, STEPWISE_TASK_QUEUE, STEPWISE_AGENTS, DATABASE_URL)')
  .action(async () => {
    const { runWorkerFromEnv } = await import('../workers/worker.js');
    await runWorkerFromEnv(process.env);
  });

program
  .command('api')
  .description('Run the REST API (PORT, HOST, TEMPORAL_ADDRESS, STEPWISE_AGENTS, DATABASE_URL)')
  .action(async () => {
    const { runApiFromEnv } = await import('./api.js');
    await runApiFromEnv(process.env);
  });

program
  .command('validate')
  .description('Validate agent configs; prints ok or the errors with file:line and key path')
  .argument('<configs...>', 'agent YAML files')
  .action(async (configs: string[]) => {
    const { runValidate } = await import('./validate.js');
    process.exitCode = await runValidate(configs, { log: (s) => console.log(s), error: (s) => console.error(s) });
  });

program
  .command('chat')
  .description('Chat with an agent in this terminal (in-process engine; stdin lines when not a TTY)')
  .argument('<config>', 'agent YAML file')
  .option('--json', 'print each turn result as one JSON line')
  .option('--session <id>', 'session id')
  .action(async (config: string, opts: { json?: boolean; session?: string }) => {
    const { runChat } = await import('./chat.js');
    process.exitCode = await runChat(config, { json: opts.json, sessionId: opts.session });
  });

program
  .command('hash-key')
  .description('Print a keys-file entry (sha256 hash) for an API key read from stdin, or for a new random key')
  .option('--new', 'generate a new random key and print it with its entry')
  .option('--id <id>', 'key id for the entry', 'my-key')
  .option('--scopes <scopes>', 'comma-separated scopes (sessions:read, sessions:write, admin)', 'sessions:read,sessions:write')
  .option('--user-id <userId>', 'bind the key to this user id')
  .action(async (opts: { new?: boolean; id: string; scopes: string; userId?: string }) => {
    const { runHashKey } = await import('./hash-key.js');
    process.exitCode = await runHashKey(opts, { stdin: process.stdin, log: (s) => console.log(s), error: (s) => console.error(s) });
  });

program
  .command('init')
  .description('Scaffold a runnable agent (YAML, TypeScript tools, scripted model, tests) in a directory')
  .argument('[dir]', 'target directory', '.')
  .action(async (dir: string) => {
    const { runInit } = await import('./init.js');
    process.exitCode = await runInit(dir);
  });

program
  .command('test')
  .description('Run agent tests (NOMOS tests.agent.yaml: unit and e2e); exit 0 pass, 1 failures, 2 config error')
  .argument('[tests]', 'tests file', 'tests.agent.yaml')
  .option('--junit <file>', 'also write a JUnit XML report')
  .action(async (tests: string, opts: { junit?: string }) => {
    const { runTestCommand } = await import('./test.js');
    process.exitCode = await runTestCommand(tests, { junit: opts.junit });
  });

program
  .command('migrate')
  .description('Run the archive database migrations against DATABASE_URL')
  .action(async () => {
    if (!process.env.DATABASE_URL) {
      console.error('DATABASE_URL is not set: nothing to migrate');
      process.exitCode = 1;
      return;
    }
    const { migrateArchive } = await import('../archive/migrate.js');
    await migrateArchive(process.env.DATABASE_URL);
    console.log('migrations applied');
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(e?.code === 'INVALID_CONFIG' ? e.message : `error: ${e?.message ?? String(err)}`);
  process.exitCode = 1;
});
