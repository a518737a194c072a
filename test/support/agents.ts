/**
 * AgentSnapshot builders for tests: a small agent with steps, routes, tools and an optional flow, without YAML.
 */
import {
  AGENT_SCHEMA_VERSION,
  type AgentSnapshot,
  DEFAULT_MEMORY,
  DEFAULT_SESSION_LIMITS,
  type Flow,
  type Step,
} from '../../src/config/agent.js';

/** A step with defaults; override any field. */
export function step(id: string, over: Partial<Step> = {}): Step {
  return {
    id,
    description: `instructions for ${id}`,
    routes: [],
    tools: [],
    examples: [],
    quickSuggestions: false,
    autoFlow: false,
    ...over,
  };
}

/** A flow with the default memory window; override any field. */
export function flow(id: string, enters: string[], exits: string[], over: Partial<Flow> = {}): Flow {
  return { id, description: `flow ${id}`, enters, exits, memory: { ...DEFAULT_MEMORY }, ...over };
}

/**
 * The test agent: `greet` -> `order` (tools add_item, get_cart; routes to `checkout`) -> `checkout` (tool pay; route
 * back to `order`, and to `done`). Flow `ordering` enters at `order`, exits at `checkout`.
 */
export function testAgent(over: Partial<AgentSnapshot> = {}): AgentSnapshot {
  const agent: AgentSnapshot = {
    schemaVersion: AGENT_SCHEMA_VERSION,
    name: 'test-agent',
    configHash: 'abc123def456',
    persona: 'You are a helpful test agent.',
    systemMessage: 'System message.',
    startStepId: 'greet',
    steps: [
      step('greet', { routes: [{ target: 'order', condition: 'the user wants to order' }] }),
      step('order', {
        tools: ['add_item', 'get_cart'],
        routes: [{ target: 'checkout', condition: 'the order is complete' }],
      }),
      step('checkout', {
        tools: ['pay'],
        routes: [
          { target: 'order', condition: 'the user wants to change the order' },
          { target: 'done', condition: 'paid' },
        ],
      }),
      step('done', {}),
    ],
    flows: [flow('ordering', ['order'], ['checkout'])],
    llms: { global: { provider: 'scripted', script: '/dev/null' } },
    tools: [
      { name: 'add_item', description: 'Add an item', parameters: { type: 'object', properties: { item: { type: 'string' } } } },
      { name: 'get_cart', description: 'Show the cart', parameters: { type: 'object', properties: {} } },
      { name: 'pay', description: 'Pay', parameters: { type: 'object', properties: {} } },
    ],
    maxErrors: 3,
    maxIter: 10,
    showStepsDescription: false,
    memory: { ...DEFAULT_MEMORY },
    session: { ...DEFAULT_SESSION_LIMITS },
    ...over,
  };
  // Like the loader, derive the hash from the content: caches key on it, so two different test agents must differ.
  return over.configHash ? agent : { ...agent, configHash: fnv1a(JSON.stringify({ ...agent, configHash: '' })) };
}

/** 32-bit FNV-1a as 8 hex digits (test-only content hash). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

