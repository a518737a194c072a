/**
 * The scripted model behind the NOMOS client conformance script (`test/nomos-client/client_conformance.py`): it
 * decides from the step and the newest message rather than by position, so a conversation may cross several durable
 * sessions (seeded `/chat` sessions, continuations after END), each of which starts its script at decision 0.
 * Runs on `testAgent()` (greet -> order, flow `ordering`, tool add_item -> checkout):
 *
 * - greet: "order ..." → MOVE order; else RESPOND "Welcome! What would you like?".
 * - order: after a tool result → RESPOND "Added <item>."; "done" → MOVE checkout; else TOOL_CALL add_item {item}.
 * - checkout: "bye" → END "Bye!"; else RESPOND "Anything else?".
 * add_item answers `{added: item}`. Flow summaries are the scripted executors' default text.
 *
 * On the Temporal backend the same decisions come from {@link conformanceModels} (the worker's model cache) for the
 * agent {@link writeConformanceAgent} writes. A `scripted` YAML script cannot play them: it answers by decision index,
 * and every session of the conversation (seeded `/chat` sessions, continuations after END) starts at index 0 at a
 * different step with a different answer.
 * Also: {@link runConformance} runs the script, {@link CONFORMANCE_ROUTES} lists what it prints when all pass.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DecisionModel, ModelCache } from '../../activities/models/model.js';
import { ScriptedModel } from '../../activities/models/scripted.js';
import { LlmConfig } from '../../src/config/agent.js';
import type { LoadedAgent } from '../../runtime/agents/load.js';
import type { DecideOutcome } from '../../src/engine/driver.js';
import type { DecideRequest, DecideResult } from '../../src/engine/types.js';
import { writeAgent } from './int-agent.js';
import { type ScriptedExecutors, scriptedExecutors } from './scripted-executors.js';

/** The newest message's text and whether it is a tool result (`[tool] ...` in the model's view). */
function newest(req: DecideRequest): { text: string; tool: boolean } {
  const last = req.messages[req.messages.length - 1];
  const content = typeof last?.content === 'string' ? last.content : '';
  return { text: content.trim(), tool: content.startsWith('[tool]') };
}

/** One decision of the conformance model (see the module comment). */
export function conformanceDecision(req: DecideRequest): Record<string, unknown> {
  const { text, tool } = newest(req);
  if (req.stepId === 'greet') {
    return text.startsWith('order') ? { action: 'MOVE', step_id: 'order' } : { action: 'RESPOND', response: 'Welcome! What would you like?' };
  }
  if (req.stepId === 'order') {
    if (tool) return { action: 'RESPOND', response: `Added ${/"added":"([^"]*)"/.exec(text)?.[1] ?? 'it'}.` };
    if (text === 'done') return { action: 'MOVE', step_id: 'checkout' };
    return { action: 'TOOL_CALL', tool_calls: [{ tool: 'add_item', arguments: { item: text } }] };
  }
  return text === 'bye' ? { action: 'END', response: 'Bye!' } : { action: 'RESPOND', response: 'Anything else?' };
}

/** Scripted executors answering with {@link conformanceDecision}, recording every request. */
export function conformanceExecutors(): ScriptedExecutors {
  const exec = scriptedExecutors([], { add_item: (args) => ({ added: args.item }) });
  exec.decide = async (req): Promise<DecideOutcome> => {
    exec.decideRequests.push(req);
    return { type: 'decided', decision: conformanceDecision(req) };
  };
  return exec;
}

/** The scripted provider's model deciding with {@link conformanceDecision} (summaries: the scripted extractive ones). */
class ConformanceModel extends ScriptedModel {
  override async decide(req: DecideRequest): Promise<DecideResult> {
    this.requests.push({ kind: 'decide', request: req });
    return { decision: conformanceDecision(req), model: 'scripted:conformance' };
  }
}

/** A worker model cache whose every model is one {@link ConformanceModel}; `model.requests` records what it was asked. */
export function conformanceModels(): { models: ModelCache; model: ScriptedModel } {
  // The agent's `llm` only names the provider; this model reads no script.
  const model = new ConformanceModel(LlmConfig.parse({ provider: 'scripted', script: '/dev/null' }));
  const models = new (class extends ModelCache {
    override get(): DecisionModel {
      return model;
    }
  })();
  return { models, model };
}

/**
 * Writes and loads `testAgent()`'s shape as YAML for a Temporal worker (test/support/int-agent.ts): `greet` -> `order`
 * (tool add_item) -> `checkout`, flow `ordering` entered at `order`, exited at `checkout`; model: `scripted`, played by
 * {@link conformanceModels}.
 */
export function writeConformanceAgent(name: string): Promise<LoadedAgent & { dir: string }> {
  return writeAgent(name, [], {}, {
    start_step_id: 'greet',
    steps: [
      { step_id: 'greet', description: 'greet', routes: [{ target: 'order', condition: 'the user wants to order' }] },
      {
        step_id: 'order',
        description: 'order',
        routes: [{ target: 'checkout', condition: 'the order is complete' }],
        available_tools: ['add_item'],
      },
      { step_id: 'checkout', description: 'checkout', routes: [{ target: 'order', condition: 'the user wants to change the order' }] },
    ],
    flows: [{ flow_id: 'ordering', enters: ['order'], exits: ['checkout'] }],
  });
}

const SCRIPT = fileURLToPath(new URL('../nomos-client/client_conformance.py', import.meta.url));
const run = promisify(execFile);

/** Every route line the script prints when all pass, in order. */
export const CONFORMANCE_ROUTES = [
  'GET /health',
  'POST /session?initiate=true (empty JSON body)',
  'POST /session (empty JSON body)',
  'POST /session/{id}/message: enter flow + tool call',
  'GET /session/{id}/history (inside the flow)',
  'POST /session/{id}/message: leave flow',
  'POST /session/{id}/message: END',
  'POST /session/{id}/message after END (goes on)',
  'GET /session/{id}/history (after END)',
  'DELETE /session/{id} (empty JSON body)',
  'POST /session/{id}/message after DELETE -> 404 {detail}',
  'GET /session/{id}/history after DELETE -> 404 {detail}',
  'DELETE /session/{id} after DELETE -> 404 {detail}',
  'POST /session/{unknown}/message -> 404 {detail}',
  'POST /chat (new session)',
  'POST /chat: enter flow + tool call (state sent back)',
  'POST /chat: client-held state seeds a new session',
  'POST /chat: summaries and step markers round-trip',
  'POST /chat: END',
  'POST /chat after END (goes on)',
];

/** Runs the script against `baseUrl`; resolves with its exit code and output (never rejects on a failing script). */
export async function runConformance(baseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('python3', [SCRIPT, baseUrl], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}
