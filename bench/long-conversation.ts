/**
 * `npm run bench`: drives the pure engine for 10, 100, 1,000 and 5,000 turns (tool calls every turn, a flow exit and
 * re-entry every other turn) and prints, per run:
 * - activity-input bytes per turn (JSON of every decide/runTool/summarize input of the turn), mean and max;
 * - carried state bytes (the continue-as-new payload at the end);
 * - decisions per second of the pure engine (prompt building, schema validation, memory window, BM25);
 * - peak RSS of the process.
 * The figure that matters: mean activity-input bytes per turn at 5,000 turns / at 10 turns (target <= 1.5), which
 * shows history growth per turn stays flat however long the conversation is.
 *
 * Options: `npm run bench -- 10,100` picks turn counts.
 */
import type { AgentSnapshot } from '../src/config/agent.js';
import { runTurn, type TurnExecutors } from '../src/engine/driver.js';
import { initialState } from '../src/engine/engine.js';
import type { ToolCallResult } from '../src/engine/types.js';
import { testAgent } from '../test/support/agents.js';

const WORDS = 'latte mocha oat almond cinnamon decaf large small extra shot vanilla caramel iced hot croissant muffin'.split(' ');

/** Per-turn decision plans keyed by the step the turn starts in (order <-> checkout keeps crossing the flow exit). */
function planFor(stepId: string, turn: number): Array<Record<string, unknown>> {
  const item = WORDS[turn % WORDS.length];
  if (stepId === 'greet') {
    return [{ action: 'MOVE', step_id: 'order' }, { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item } }] }, { action: 'RESPOND', response: `Added ${item}.` }];
  }
  if (stepId === 'order') {
    return [
      { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item } }, { tool: 'get_cart', arguments: {} }] },
      { action: 'MOVE', step_id: 'checkout' },
      { action: 'RESPOND', response: `Your cart has ${item} and more. Ready to pay?` },
    ];
  }
  return [
    { action: 'TOOL_CALL', tool_calls: [{ tool: 'pay', arguments: {} }] },
    { action: 'MOVE', step_id: 'order' },
    { action: 'RESPOND', response: `Paid. Anything else? Maybe a ${item}?` },
  ];
}

interface RunFigures {
  turns: number;
  meanInputBytes: number;
  maxInputBytes: number;
  stateBytes: number;
  decisionsPerSecond: number;
  peakRssMiB: number;
}

async function run(agent: AgentSnapshot, turns: number): Promise<RunFigures> {
  let plan: Array<Record<string, unknown>> = [];
  let turnBytes = 0;
  let clock = Date.UTC(2026, 0, 1);
  const exec: TurnExecutors = {
    now: () => new Date(clock++).toISOString(),
    async decide(req) {
      turnBytes += JSON.stringify(req).length;
      return { type: 'decided', decision: plan.shift() };
    },
    async runTools(calls): Promise<ToolCallResult[]> {
      turnBytes += calls.reduce((n, c) => n + JSON.stringify(c).length, 0);
      return calls.map((c) => ({ callId: c.callId, tool: c.tool, ok: true, result: { ok: true, cart: ['latte', 'mocha'], total: 9.5 } }));
    },
    async summarize(req) {
      turnBytes += JSON.stringify(req).length;
      return { type: 'summarized', summary: `Customer ordered ${req.items.length} things; last: ${req.items.at(-1)?.text.slice(0, 80)}` };
    },
  };
  let state = initialState(agent, `bench-${turns}`, exec.now());
  const perTurn: number[] = [];
  const started = performance.now();
  for (let t = 0; t < turns; t++) {
    plan = planFor(state.stepId, t);
    turnBytes = 0;
    const text = `turn ${t}: I'd like a ${WORDS[(t * 7) % WORDS.length]} with ${WORDS[(t * 3) % WORDS.length]}, and what did I order first?`;
    ({ state } = await runTurn(agent, state, { messageId: `m${t}`, text }, exec));
    perTurn.push(turnBytes);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    turns,
    meanInputBytes: perTurn.reduce((a, b) => a + b, 0) / perTurn.length,
    maxInputBytes: Math.max(...perTurn),
    stateBytes: JSON.stringify(state).length,
    decisionsPerSecond: state.counters.decisions / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

async function main(): Promise<void> {
  const counts = (process.argv[2] ?? '10,100,1000,5000').split(',').map(Number);
  const agent = testAgent();
  const rows: RunFigures[] = [];
  console.log('turns | activity input bytes/turn (mean / max) | carried state bytes | decisions/s | peak RSS MiB');
  for (const n of counts) {
    const r = await run(agent, n);
    rows.push(r);
    console.log(
      `${String(r.turns).padStart(5)} | ${r.meanInputBytes.toFixed(0).padStart(8)} / ${String(r.maxInputBytes).padStart(6)} | ${String(r.stateBytes).padStart(8)} | ${r.decisionsPerSecond.toFixed(0).padStart(6)} | ${r.peakRssMiB.toFixed(0)}`,
    );
  }
  const first = rows[0];
  const last = rows.at(-1)!;
  const ratio = last.meanInputBytes / first.meanInputBytes;
  console.log(`ratio: mean input bytes/turn at ${last.turns} turns / at ${first.turns} turns = ${ratio.toFixed(2)} (target <= 1.5)`);
  if (ratio > 1.5) process.exitCode = 1;
}

await main();
