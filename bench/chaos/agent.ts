/**
 * The chaos suite's agent, written to the run's folder as a user would write it (YAML, a script for the `scripted`
 * provider, a tool module), and the ledger its tools keep.
 *
 * Steps `chat` -> `work` -> `chat`, flow `working` around `work`. Tools with side effects, both keyed by the call's
 * idempotency key (`<sessionId>/<callId>`, activities/tools.ts): `ledger` (no approval) and `transfer` (needs a
 * human's approval). Each execution appends a line to `attempts.log`; the first execution for a key commits it by
 * creating `keys/<key>` exclusively (`wx`) and appends the entry to `ledger.log`; a later execution for the same key
 * (an activity retried after a crash or a stall) appends nothing and returns the committed entry. So `ledger.log`
 * holding one line per key is what "at most once per idempotency key" means, and `attempts.log` shows the retries.
 *
 * The script repeats a cycle of four turns (eight decisions), so the reply of turn `n` of any session is known:
 *   turn 4c+1: RESPOND                              `reply c<c> k0`
 *   turn 4c+2: TOOL_CALL ledger, RESPOND            `reply c<c> k1`
 *   turn 4c+3: MOVE work (enters the flow), TOOL_CALL transfer (waits for approval), RESPOND `reply c<c> k2`
 *   turn 4c+4: MOVE chat (exits the flow), RESPOND  `reply c<c> k3`
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** The agent's name (its `agentId`). */
export const CHAOS_AGENT = 'chaos';

/** Turns in one script cycle, and decisions it takes. */
const CYCLE_TURNS = 4;

/** Cycles in the script: 4 × 2,000 turns per session, far beyond any run. */
const CYCLES = 2_000;

/** The tools that change the ledger, and which of them waits for approval. */
export const LEDGER_TOOLS = ['ledger', 'transfer'] as const;
export const APPROVAL_TOOL = 'transfer';

/** The reply the script gives in turn `turn` (1-based) of every session. */
export function expectedReply(turn: number): string {
  const i = turn - 1;
  return `reply c${Math.floor(i / CYCLE_TURNS)} k${i % CYCLE_TURNS}`;
}

/** Ledger tools turn `turn` calls (in order). */
export function expectedLedgerCalls(turn: number): string[] {
  const k = (turn - 1) % CYCLE_TURNS;
  return k === 1 ? ['ledger'] : k === 2 ? ['transfer'] : [];
}

const TOOLS = `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = () => process.env.CHAOS_LEDGER_DIR;
async function apply(tool, args, ctx) {
  const key = ctx.idempotencyKey;
  appendFileSync(join(dir(), 'attempts.log'), JSON.stringify({ tool, key, pid: process.pid }) + '\\n');
  const marker = join(dir(), 'keys', encodeURIComponent(key));
  const entry = { tool, key, amount: args.amount, pid: process.pid };
  try {
    writeFileSync(marker, JSON.stringify(entry), { flag: 'wx' });
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    // Committed by an earlier execution (possibly still writing it): answer what it committed.
    for (let i = 0; ; i++) {
      try { return { ...JSON.parse(readFileSync(marker, 'utf8')), replayed: true }; }
      catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 20)); }
    }
  }
  appendFileSync(join(dir(), 'ledger.log'), JSON.stringify(entry) + '\\n');
  return entry;
}
const parameters = { type: 'object', properties: { amount: { type: 'integer' } }, required: ['amount'] };
export const tools = [
  { name: 'ledger', description: 'books an amount', parameters, execute: (args, ctx) => apply('ledger', args, ctx) },
  { name: 'transfer', description: 'transfers an amount (needs approval)', parameters, execute: (args, ctx) => apply('transfer', args, ctx) },
];
`;

function script(): unknown[] {
  const out: unknown[] = [];
  for (let c = 0; c < CYCLES; c++) {
    const r = (k: number) => ({ action: 'RESPOND', response: `reply c${c} k${k}` });
    out.push(r(0));
    out.push({ action: 'TOOL_CALL', tool_calls: [{ tool: 'ledger', arguments: { amount: 10 } }] }, r(1));
    out.push({ action: 'MOVE', step_id: 'work' }, { action: 'TOOL_CALL', tool_calls: [{ tool: 'transfer', arguments: { amount: 5 } }] }, r(2));
    out.push({ action: 'MOVE', step_id: 'chat' }, r(3));
  }
  return out;
}

/**
 * Writes the agent into `dir` (agent.yaml, script.yaml, tools.mjs) and creates the ledger folder `dir/ledger`.
 * @returns the agent YAML's path (for `STEPWISE_AGENTS`) and the ledger folder (for `CHAOS_LEDGER_DIR`).
 */
export function writeChaosAgent(dir: string): { agentFile: string; ledgerDir: string } {
  const ledgerDir = join(dir, 'ledger');
  mkdirSync(join(ledgerDir, 'keys'), { recursive: true });
  writeFileSync(join(ledgerDir, 'ledger.log'), '');
  writeFileSync(join(ledgerDir, 'attempts.log'), '');
  writeFileSync(join(dir, 'script.yaml'), stringify(script()));
  writeFileSync(join(dir, 'tools.mjs'), TOOLS);
  const agentFile = join(dir, 'agent.yaml');
  writeFileSync(
    agentFile,
    stringify({
      name: CHAOS_AGENT,
      persona: 'Chaos suite agent',
      start_step_id: 'chat',
      steps: [
        { step_id: 'chat', description: 'chat', routes: [{ target: 'work', condition: 'work' }], available_tools: ['ledger'] },
        { step_id: 'work', description: 'work', routes: [{ target: 'chat', condition: 'done' }], available_tools: ['ledger', 'transfer'] },
      ],
      flows: [{ flow_id: 'working', enters: ['work'], exits: ['chat'] }],
      llm: { provider: 'scripted', script: './script.yaml' },
      tools: { tool_files: ['./tools.mjs'], tool_defs: { transfer: { requires_approval: true } } },
      // Short runs keep continue-as-new in play (every 25 turns) without long sessions.
      session: { max_turns_per_run: 25 },
    }),
  );
  return { agentFile, ledgerDir };
}

/** One committed ledger entry (a line of `ledger.log`). */
export interface LedgerEntry {
  tool: string;
  key: string;
  amount: number;
  pid: number;
}

/** `ledger.log` (committed effects) and `attempts.log` (every execution) of a run. */
export function readLedger(ledgerDir: string): { entries: LedgerEntry[]; attempts: Array<{ tool: string; key: string; pid: number }> } {
  const lines = (file: string) =>
    readFileSync(join(ledgerDir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  return { entries: lines('ledger.log'), attempts: lines('attempts.log') };
}
