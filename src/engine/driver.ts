/**
 * Runs one turn to completion by playing the engine's commands through injected executors.
 *
 * The same driver serves every host: the session workflow (executors = activities), `stepwise chat` and the
 * benchmark (executors = direct calls). Executors must not throw for model or tool misbehaviour; they translate
 * failures into {@link EngineInput}s (`decisionInvalid`, `decideFailed`, tool errors, `summarizeFailed`).
 *
 * Pure (no Node imports); the clock is injected.
 */
import type { AgentSnapshot } from '../config/agent.js';
import { advance, startTurn } from './engine.js';
import type {
  DecideRequest,
  EngineInput,
  SessionState,
  SummarizeRequest,
  ToolCallRequest,
  ToolCallResult,
  TurnResult,
} from './types.js';

/** Outcome of asking the model: a raw decision, unusable output, or a failure to get any. */
export type DecideOutcome =
  | { type: 'decided'; decision: unknown }
  | { type: 'decisionInvalid'; message: string }
  | { type: 'decideFailed'; message: string };

/** Outcome of summarising. */
export type SummarizeOutcome = { type: 'summarized'; summary: string } | { type: 'summarizeFailed'; message: string };

/** What a host provides to run turns. */
export interface TurnExecutors {
  decide(request: DecideRequest): Promise<DecideOutcome>;
  /** Runs all calls (in parallel) and returns one result per call, in the same order. */
  runTools(calls: ToolCallRequest[]): Promise<ToolCallResult[]>;
  summarize(request: SummarizeRequest): Promise<SummarizeOutcome>;
  /** Current time as ISO-8601 (in workflows: `new Date().toISOString()`, which Temporal makes replay-safe). */
  now(): string;
  /** Called after every engine transition, e.g. to publish events live. Optional. */
  onState?(state: SessionState): void;
}

/**
 * Runs a user message (or, with `opening`, an opening turn without one) through the engine until the turn finishes.
 *
 * @returns the new state and the turn result.
 * @throws only what the executors throw (they should not) or engine host-bug errors (a turn already running).
 */
export async function runTurn(
  agent: AgentSnapshot,
  state: SessionState,
  message: { messageId: string; text: string; opening?: boolean },
  exec: TurnExecutors,
): Promise<{ state: SessionState; result: TurnResult }> {
  let step = startTurn(agent, state, { ...message, now: exec.now() });
  for (;;) {
    exec.onState?.(step.state);
    const { command } = step;
    let input: EngineInput;
    switch (command.type) {
      case 'finish':
        return { state: step.state, result: command.result };
      case 'decide':
        input = { ...(await exec.decide(command.request)), now: exec.now() };
        break;
      case 'runTools':
        input = { type: 'toolResults', results: await exec.runTools(command.calls), now: exec.now() };
        break;
      case 'summarize':
        input = { ...(await exec.summarize(command.request)), now: exec.now() };
        break;
    }
    step = advance(agent, step.state, input);
  }
}
