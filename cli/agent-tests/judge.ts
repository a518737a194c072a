/**
 * The LLM side of `stepwise test`, used when the tests file names a (non-scripted) `llm`: a judge that decides whether
 * an agent's turn meets a written expectation (NOMOS `smart_assert`), and a user simulator for scenario tests (NOMOS
 * `ScenarioRunner`: continue with a next message, or assert that the expectation is already broken).
 *
 * Both go through the provider adapters the worker uses (`DecisionModel.decide` with a JSON schema of their own), so
 * the judge speaks to any configured provider with the same key handling and errors.
 */
import { z } from 'zod';
import type { DecisionModel } from '../../activities/models/model.js';
import type { LlmConfig } from '../../src/config/agent.js';
import type { ChatMessage } from '../../src/engine/types.js';

export const Verdict = z.object({ reasoning: z.array(z.string()).optional(), passed: z.boolean(), reason: z.string() });
export type Verdict = z.infer<typeof Verdict>;

export const NextInput = z.object({
  reasoning: z.array(z.string()).optional(),
  decision: z.enum(['CONTINUE', 'ASSERT']),
  input: z.string().optional(),
  assertion: z.string().optional(),
});
export type NextInput = z.infer<typeof NextInput>;

/** One line of a transcript shown to the judge. */
export interface TranscriptLine {
  role: 'user' | 'agent' | 'context';
  text: string;
}

const render = (lines: TranscriptLine[]) => lines.map((l) => `[${l.role}] ${l.text}`).join('\n');

async function ask<T>(model: DecisionModel, llm: LlmConfig, messages: ChatMessage[], schema: z.ZodType<T>, what: string): Promise<T> {
  const json = z.toJSONSchema(schema) as Record<string, unknown>;
  delete json.$schema;
  const out = await model.decide({
    sessionId: 'stepwise-test-judge',
    agentName: 'judge',
    stepId: what,
    llm,
    messages,
    schema: json,
    decisionIndex: 0,
    forceRespond: false,
  });
  const parsed = schema.safeParse(out.decision);
  if (!parsed.success) throw new Error(`the judge model's ${what} answer does not match its schema: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Judges whether the agent's behaviour in `transcript` (its last line is the agent's answer under test) meets
 * `expectation`. Throws what the provider adapter throws (an `ApplicationFailure`, e.g. no API key).
 */
export function judge(model: DecisionModel, llm: LlmConfig, transcript: TranscriptLine[], expectation: string): Promise<Verdict> {
  return ask(
    model,
    llm,
    [
      {
        role: 'system',
        content:
          'You judge a conversational agent in a test. Decide whether the agent behaviour shown meets the expectation. ' +
          'Be strict: pass only if the expectation clearly holds. Reply with one JSON object: ' +
          '{"reasoning": ["..."], "passed": true|false, "reason": "one sentence"}.',
      },
      { role: 'user', content: `Expectation: ${expectation}\n\nConversation:\n${render(transcript)}` },
    ],
    Verdict,
    'verdict',
  );
}

/** Asks the simulated user for the next message of `scenario`, or for an assertion that the expectation failed. */
export function nextUserInput(
  model: DecisionModel,
  llm: LlmConfig,
  scenario: { scenario: string; expectation?: string },
  transcript: TranscriptLine[],
): Promise<NextInput> {
  return ask(
    model,
    llm,
    [
      {
        role: 'system',
        content:
          'You simulate a user talking to an agent, following the scenario as your guide, without rushing it. ' +
          'Decide the next user message (decision CONTINUE, with "input"), or ASSERT (with "assertion") if the ' +
          'expectation is already not met. Reply with one JSON object: ' +
          '{"reasoning": ["..."], "decision": "CONTINUE"|"ASSERT", "input": "...", "assertion": "..."}.',
      },
      {
        role: 'user',
        content: `Scenario: ${scenario.scenario}\nExpectation: ${scenario.expectation ?? '(none)'}\nChat history:\n${render(transcript) || '(empty)'}`,
      },
    ],
    NextInput,
    'next-input',
  );
}
