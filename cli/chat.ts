/**
 * `stepwise chat <config.yaml>`: talk to an agent in a terminal, through the same engine, models and tools as the
 * worker, in this process (no Temporal, nothing durable).
 *
 * Interactive on a TTY. Otherwise reads one user message per line from stdin and prints one reply per line (newlines
 * inside a reply become spaces); `--json` prints each turn result as one JSON line instead. Stops at end of input or
 * when the agent ENDs the session.
 *
 * A tool call that needs approval is asked about on the terminal: `approve <tool> (call <id>) <arguments>? [y/N]`;
 * the next input line decides: `y`/`yes` approves, anything else denies, with the text after `n `/`no ` as the
 * reason (`n too expensive`). Without a terminal the question goes to stderr and the next stdin line answers it.
 *
 * Time travel (docs/time-travel.md, over this process's snapshots): `/rewind N` takes the session back to its state
 * after turn N; `/fork N` starts a new session from it and goes on chatting there. Each prints one line (a JSON line
 * `{"rewound": ...}` / `{"forked": ...}` with `--json`).
 */
import { createInterface } from 'node:readline';
import { createActivities } from '../activities/index.js';
import { ModelCache } from '../activities/models/model.js';
import { loadAgent } from '../runtime/agents/load.js';
import type { PendingApproval, TurnResult } from '../src/engine/types.js';
import { forkState } from '../src/engine/rewind.js';
import { loadSessionState } from '../src/engine/state.js';
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

/** A terminal answer to an approval question: `y`/`yes` approves; anything else denies (`n <reason>` gives a reason). */
export function parseApprovalAnswer(line: string): { decision: 'approve' | 'deny'; reason?: string } {
  const text = line.trim();
  if (/^y(es)?$/i.test(text)) return { decision: 'approve' };
  const reason = text.replace(/^no?\b\s*/i, '').trim();
  return reason ? { decision: 'deny', reason } : { decision: 'deny' };
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
  let sessionId = opts.sessionId ?? `chat-${process.pid}-${Date.now()}`;
  await sessions.start(loaded.snapshot, sessionId);
  /** `/rewind N` and `/fork N`; returns the line to print. @throws the backend's CallerError (printed, chat goes on). */
  const timeTravel = async (command: 'rewind' | 'fork', turn: number): Promise<string> => {
    if (command === 'rewind') {
      const done = await sessions.rewind(sessionId, turn);
      if (opts.json) return JSON.stringify({ rewound: done });
      return done.branch ? `(rewound to turn ${done.toTurn}; turns ${done.toTurn + 1}-${done.fromTurn} superseded)` : `(already at turn ${done.toTurn})`;
    }
    const held = await sessions.turnState(sessionId, turn);
    if (held.status !== 'held') throw new Error(held.status === 'unknown' ? `there is no turn ${turn} (the session has ${held.turns})` : `the state after turn ${turn} is no longer held`);
    const forkId = `${sessionId}-fork${turn}-${Date.now().toString(36)}`;
    const state = JSON.stringify(forkState(loadSessionState(JSON.parse(held.state)), forkId));
    await sessions.startFork(loaded.snapshot, forkId, { parentSessionId: sessionId, forkedAtTurn: turn }, { state, answered: held.answered });
    const parent = sessionId;
    sessionId = forkId;
    return opts.json ? JSON.stringify({ forked: { sessionId: forkId, parentSessionId: parent, forkedAtTurn: turn } }) : `(forked ${parent} after turn ${turn}: now in ${forkId})`;
  };

  const print = (result: TurnResult) => {
    if (opts.json) output.write(`${JSON.stringify(result)}\n`);
    else if (interactive) output.write(`${loaded.snapshot.name}> ${result.reply}\n`);
    else output.write(`${result.reply.replace(/\r?\n/g, ' ')}\n`);
  };

  const rl = createInterface({ input, terminal: false, crlfDelay: Infinity });
  const lines = rl[Symbol.asyncIterator]();
  const prompts = interactive ? output : errors;
  /** Asks about one waiting call; end of input denies. */
  const ask = async (p: PendingApproval): Promise<{ decision: 'approve' | 'deny'; reason?: string }> => {
    prompts.write(`approve ${p.tool} (call ${p.callId}) ${JSON.stringify(p.arguments)}? [y/N, or n <reason>] `);
    const next = await lines.next();
    return parseApprovalAnswer(next.done ? '' : next.value);
  };
  if (interactive) output.write(`chatting with ${loaded.snapshot.name} (step ${loaded.snapshot.startStepId}); Ctrl-D to quit\nyou> `);
  let n = 0;
  let code = 0;
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const text = next.value.trim();
    if (!text) {
      if (interactive) output.write('you> ');
      continue;
    }
    const travel = /^\/(rewind|fork)\s+(\d+)$/.exec(text);
    if (travel) {
      try {
        output.write(`${await timeTravel(travel[1] as 'rewind' | 'fork', Number(travel[2]))}\n`);
      } catch (err) {
        errors.write(`error: ${(err as Error).message}\n`);
      }
      if (interactive) output.write('you> ');
      continue;
    }
    n++;
    try {
      const messageId = `${sessionId}:${n}`;
      let result: TurnResult | undefined = await sessions.send(sessionId, { messageId, text });
      // Paused for approval: ask about each waiting call, until the turn finishes.
      const decided = new Set<string>();
      while (result?.pendingApprovals) {
        for (const p of result.pendingApprovals.filter((x) => !decided.has(x.callId))) {
          const answer = await ask(p);
          await sessions.decideApproval(sessionId, { callId: p.callId, ...answer, approver: 'terminal' });
          decided.add(p.callId);
        }
        result = await sessions.nextResult(sessionId, messageId);
      }
      if (!result) throw new Error(`turn for message ${messageId} ended without a result`);
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
