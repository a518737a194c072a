/**
 * `stepwise chat <config.yaml>`: talk to an agent in a terminal, through the same engine, models and tools as the
 * worker, in this process (no Temporal, nothing durable).
 *
 * Interactive on a TTY. Otherwise reads one user message per line from stdin and prints one reply per line (newlines
 * inside a reply become spaces); `--json` prints each turn result as one JSON line instead. Stops at end of input or
 * when the agent ENDs the session.
 */
import { createInterface } from 'node:readline';
import { createActivities } from '../activities/index.js';
import { ModelCache } from '../activities/models/model.js';
import { loadAgent } from '../src/config/load.js';
import type { TurnResult } from '../src/engine/types.js';
import { localExecutors } from './local-executors.js';
import { LocalSessions } from './local-sessions.js';

export interface ChatOptions {
  json?: boolean;
  sessionId?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  errorOutput?: NodeJS.WritableStream;
  /** Treat input as a terminal (prompts). Default: `input.isTTY`. */
  interactive?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a chat. Resolves with the exit code: 0 normally, 1 if the config is invalid (errors printed) or a turn failed
 * outright.
 */
export async function runChat(configPath: string, opts: ChatOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const errors = opts.errorOutput ?? process.stderr;
  const interactive = opts.interactive ?? Boolean((input as { isTTY?: boolean }).isTTY);

  const loaded = await loadAgent(configPath, { env: opts.env ?? process.env });
  for (const w of loaded.warnings) errors.write(`warning: ${w.file}:${w.line ?? '?'} ${w.path}: ${w.message}\n`);
  const activities = createActivities({ models: new ModelCache(), tools: new Map([[loaded.snapshot.name, loaded.tools]]) });
  const sessions = new LocalSessions({ executors: () => localExecutors(activities) });
  const sessionId = opts.sessionId ?? `chat-${process.pid}-${Date.now()}`;
  await sessions.start(loaded.snapshot, sessionId);

  const print = (result: TurnResult) => {
    if (opts.json) output.write(`${JSON.stringify(result)}\n`);
    else if (interactive) output.write(`${loaded.snapshot.name}> ${result.reply}\n`);
    else output.write(`${result.reply.replace(/\r?\n/g, ' ')}\n`);
  };

  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
  if (interactive) output.write(`chatting with ${loaded.snapshot.name} (step ${loaded.snapshot.startStepId}); Ctrl-D to quit\nyou> `);
  let n = 0;
  let code = 0;
  for await (const line of rl) {
    const text = line.trim();
    if (!text) {
      if (interactive) output.write('you> ');
      continue;
    }
    n++;
    try {
      const result = await sessions.send(sessionId, { messageId: `${sessionId}:${n}`, text });
      print(result);
      if (result.ended) {
        if (interactive) output.write('(session ended)\n');
        break;
      }
    } catch (err) {
      errors.write(`error: ${(err as Error).message}\n`);
      code = 1;
      break;
    }
    if (interactive) output.write('you> ');
  }
  rl.close();
  await sessions.close();
  return code;
}
