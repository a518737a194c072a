/**
 * The agent test file (`tests.agent.yaml`), NOMOS's format with Stepwise's structural checks.
 *
 * NOMOS (`nomos test`): `llm` (the judge model), `unit` cases — `context` (the session state to start from:
 * `current_step_id`, `history` of messages/summaries), `input` (the user message), `expectation` (judged by the LLM)
 * and `invalid` (the expectation must NOT hold) — and scenario tests (`e2e`: `scenario`, `expectation`, `max_turns`,
 * run by an LLM playing the user).
 *
 * Stepwise adds, per case: `expect` (structural checks that need no LLM: an action taken in the turn, the step and
 * flow it ends in, tools called, text in the reply, whether the session ended); `decisions` (a scripted model for
 * this case: the decisions the agent's model returns, in order — offline, deterministic); and, for scenarios,
 * `inputs` (scripted user messages, used when no judge LLM plays the user). Top-level `agent` names the agent config
 * (default `config.agent.yaml`, else the only `*.agent.yaml` beside the tests file).
 */
import { z } from 'zod';
import { ACTIONS } from '../../src/engine/decision.js';
import { RawLlmConfig } from '../../src/config/schema.js';

/** A NOMOS history entry: a message (`role`, `content`), a summary (`summary: [..]`) or a step marker (`step_id`). */
export const HistoryEntry = z.union([
  z.strictObject({ role: z.string().min(1), content: z.string() }),
  z.strictObject({ summary: z.union([z.string(), z.array(z.string())]) }),
  z.strictObject({ step_id: z.string().min(1) }),
]);
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** Where a unit case starts: NOMOS `State` fields (`current_step_id`, `history`) plus `summary` shorthand. */
export const TestContext = z.strictObject({
  current_step_id: z.string().min(1).optional(),
  step_id: z.string().min(1).optional(),
  history: z.array(HistoryEntry).optional(),
  summary: z.union([z.string(), z.array(z.string())]).optional(),
});
export type TestContext = z.infer<typeof TestContext>;

/** Structural checks (Stepwise): each given field must hold for the case to pass. */
export const Expect = z.strictObject({
  /** Some decision of the (last) turn took this action. */
  action: z.enum(ACTIONS).optional(),
  /** The step the session is at afterwards. */
  step_id: z.string().min(1).optional(),
  /** The flow active afterwards (`null`: none). */
  flow_id: z.string().min(1).nullable().optional(),
  /** A tool called (successfully or not) during the case. */
  tool: z.string().min(1).optional(),
  /** Tools called during the case, all of them (any order). */
  tools: z.array(z.string().min(1)).optional(),
  /** Text the (last) reply contains, case-insensitive. */
  reply_contains: z.string().min(1).optional(),
  /** Whether the session ended (END). */
  ended: z.boolean().optional(),
});
export type Expect = z.infer<typeof Expect>;

const scripted = { decisions: z.array(z.union([z.record(z.string(), z.unknown()), z.string()])).min(1).optional() };

export const UnitCase = z.strictObject({
  context: TestContext.optional(),
  input: z.string().min(1),
  expectation: z.string().min(1).optional(),
  invalid: z.boolean().optional(),
  expect: Expect.optional(),
  ...scripted,
});
export type UnitCase = z.infer<typeof UnitCase>;

export const ScenarioCase = z.strictObject({
  scenario: z.string().min(1),
  expectation: z.string().min(1).optional(),
  max_turns: z.number().int().min(1).max(50).optional(),
  inputs: z.array(z.string().min(1)).min(1).optional(),
  expect: Expect.optional(),
  ...scripted,
});
export type ScenarioCase = z.infer<typeof ScenarioCase>;

export const TestsFile = z
  .strictObject({
    agent: z.string().min(1).optional(),
    llm: RawLlmConfig.optional(),
    unit: z.record(z.string(), UnitCase).optional(),
    e2e: z.record(z.string(), ScenarioCase).optional(),
    /** Alias of `e2e`. */
    scenarios: z.record(z.string(), ScenarioCase).optional(),
  })
  .refine((f) => Object.keys({ ...f.unit, ...f.e2e, ...f.scenarios }).length > 0, {
    message: 'no tests: add `unit:` or `e2e:` cases',
  });
export type TestsFile = z.infer<typeof TestsFile>;
