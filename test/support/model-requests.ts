/**
 * Model request fixtures for tests of anything that talks to a model: a small agent, and decide/summarize requests
 * built with the engine's real decision schema.
 */
import { DEFAULT_MEMORY, DEFAULT_SESSION_LIMITS, type AgentSnapshot, type LlmConfig } from '../../src/config/agent.js';
import { decisionJsonSchema } from '../../src/engine/decision.js';
import type { DecideRequest, SummarizeRequest } from '../../src/engine/types.js';
import { step } from './agents.js';


/** A small agent: step `start` with tool `lookup` and a route to `checkout`; step `checkout` with an answer model. */
export function sampleAgent(llm: LlmConfig): AgentSnapshot {
  return {
    schemaVersion: 1,
    name: 'shop',
    configHash: 'test',
    persona: 'A helpful shop assistant.',
    systemMessage: 'You are an agent.',
    startStepId: 'start',
    steps: [
      step('start', { description: 'Step start.', routes: [{ target: 'checkout', condition: 'the user wants to pay' }], tools: ['lookup'] }),
      step('checkout', {
        description: 'Step checkout.',
        answerModel: { type: 'object', properties: { total: { type: 'number' } }, required: ['total'] },
      }),
    ],
    flows: [],
    llms: { global: llm },
    tools: [
      { name: 'lookup', description: 'Find a product.', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
    ],
    maxErrors: 3,
    maxIter: 10,
    showStepsDescription: true,
    memory: DEFAULT_MEMORY,
    session: DEFAULT_SESSION_LIMITS,
  };
}

/** A realistic decide request for `stepId` of {@link sampleAgent}, schema from the engine's `decisionJsonSchema`. */
export function sampleDecideRequest(llm: LlmConfig, overrides: Partial<DecideRequest> = {}, stepId = 'start'): DecideRequest {
  const agent = sampleAgent(llm);
  const step = agent.steps.find((s) => s.id === stepId)!;
  return {
    sessionId: 'sess-1',
    agentName: agent.name,
    stepId,
    llm,
    messages: [
      { role: 'system', content: 'You are a shop assistant. Current step: start.' },
      { role: 'user', content: 'Do you sell tea?' },
    ],
    schema: decisionJsonSchema(agent, step, { forceRespond: overrides.forceRespond }),
    decisionIndex: 0,
    forceRespond: false,
    ...overrides,
  };
}

/** A summarize request over a few items. */
export function sampleSummarizeRequest(llm: LlmConfig, overrides: Partial<SummarizeRequest> = {}): SummarizeRequest {
  return {
    sessionId: 'sess-1',
    llm,
    purpose: 'flow_exit',
    flowId: 'ordering',
    previousSummaries: ['The user asked about tea.'],
    items: [
      { seq: 1, turn: 1, role: 'user', text: 'I want green tea.' },
      { seq: 2, turn: 1, role: 'assistant', text: 'Added green tea to your cart.' },
      { seq: 3, turn: 2, role: 'user', text: 'Checkout please.' },
    ],
    maxChars: 500,
    ...overrides,
  };
}
