/**
 * Prompt builder: turns the agent, the current step and the memory window into provider-neutral chat messages.
 *
 * Layout (DESIGN.md "One turn"): system message, persona (step override first), current step instructions, routes
 * (`condition -> target`), the step's tools with argument schemas, examples, then the memory window (summaries,
 * retrieved older items, recent items as chat turns, a user message's attachments as `files` references on its chat
 * message), and last the re-ask note if the previous decision was invalid.
 *
 * Pure.
 */
import type { AgentSnapshot, Example, Step } from '../config/agent.js';
import { allowedActions } from './decision.js';
import type { MemoryWindow } from './memory.js';
import type { ChatMessage, MemoryItem } from './types.js';

/** Inputs of {@link buildPrompt}. */
export interface PromptInput {
  agent: AgentSnapshot;
  step: Step;
  flowId?: string;
  window: MemoryWindow;
  forceRespond: boolean;
  /** The previous decision's error, shown so the model can correct itself. */
  lastError?: string;
  /** An opening turn (the agent speaks first): a note asks the model to open the conversation. */
  opening?: boolean;
  /** The session's engine semantics (`ENGINE_SEMANTICS`); absent = 1. */
  semantics?: number;
  /** Examples to show instead of all of the step's (semantics ≥ 2: chosen by similarity, ./examples.ts). */
  examples?: Example[];
  /** The only tool that may be called (semantics ≥ 3: its last call had invalid arguments). */
  retryTool?: string;
}

/** The note of an opening turn, in place of a user message (chat APIs expect one after the system message). */
export const OPENING_NOTE = '[note] The conversation begins: speak first, as the current step describes. No user message yet.';

function renderItem(item: MemoryItem): string {
  return item.role === 'tool' || item.role === 'note' ? `[${item.role}] ${item.text}` : item.text;
}

/** Builds the chat messages of one decision. Deterministic for the same input. */
export function buildPrompt(input: PromptInput): ChatMessage[] {
  const { agent, step, window } = input;
  const sections: string[] = [];
  if (agent.systemMessage) sections.push(agent.systemMessage.trim());
  const persona = step.personaOverride ?? agent.persona;
  if (persona) sections.push(`## Persona\n${persona.trim()}`);

  sections.push(
    `## Current step: ${step.id}${input.flowId ? ` (flow: ${input.flowId})` : ''}\n${step.description.trim() || '(no instructions)'}`,
  );
  if (step.routes.length > 0 && !input.forceRespond) {
    const routes = step.routes.map((r) => {
      const target = agent.steps.find((s) => s.id === r.target);
      const desc = agent.showStepsDescription && target?.description ? ` — ${target.description.split('\n')[0]}` : '';
      return `- ${r.condition || 'when appropriate'} -> ${r.target}${desc}`;
    });
    sections.push(`## Routes (MOVE with step_id)\n${routes.join('\n')}`);
  }
  const tools = agent.tools.filter((t) => step.tools.includes(t.name) && (!input.retryTool || t.name === input.retryTool));
  if (tools.length > 0 && !input.forceRespond) {
    sections.push(
      `## Tools (TOOL_CALL; several calls run in parallel)\n${tools
        .map((t) => `- ${t.name}: ${t.description}\n  arguments: ${JSON.stringify(t.parameters)}`)
        .join('\n')}`,
    );
  }
  const examples = input.examples ?? step.examples;
  if (examples.length > 0) {
    sections.push(
      `## Examples\n${examples
        .map((e) => `- ${e.context ?? ''}${e.decision !== undefined ? ` => ${JSON.stringify(e.decision)}` : ''}`)
        .join('\n')}`,
    );
  }
  if (window.summaries.length > 0) {
    sections.push(`## Summary of earlier conversation\n${window.summaries.join('\n\n')}`);
  }
  if (window.retrieved.length > 0) {
    sections.push(`## Relevant earlier messages\n${window.retrieved.map((i) => `- (${i.role}) ${i.text}`).join('\n')}`);
  }
  const actions = allowedActions(step, { forceRespond: input.forceRespond, semantics: input.semantics });
  const suggest = (input.semantics ?? 1) >= 2 && step.quickSuggestions ? ',"suggestions":["short replies the user may pick"]' : '';
  sections.push(
    [
      '## Decision',
      `Reply with one JSON object only. Allowed actions here: ${actions.join(', ')}.`,
      !actions.includes('RESPOND')
        ? ''
        : !step.answerModel
          ? `RESPOND: {"action":"RESPOND","response":"text for the user"${suggest}}`
          : step.answerOrText
            ? `RESPOND: {"action":"RESPOND","answer":<object matching ${JSON.stringify(step.answerModel)}>,"response":"optional text"${suggest}} (or, when no answer fits yet, {"action":"RESPOND","response":"text for the user"})`
            : `RESPOND: {"action":"RESPOND","answer":<object matching ${JSON.stringify(step.answerModel)}>,"response":"optional text"${suggest}}`,
      actions.includes('TOOL_CALL') ? 'TOOL_CALL: {"action":"TOOL_CALL","tool_calls":[{"tool":"name","arguments":{}}]}' : '',
      actions.includes('MOVE') ? 'MOVE: {"action":"MOVE","step_id":"<route target>"}' : '',
      actions.includes('END') ? 'END: {"action":"END","response":"optional goodbye"}' : '',
      'Any action may add "reasoning": ["short", "notes"].',
    ]
      .filter(Boolean)
      .join('\n'),
  );

  const messages: ChatMessage[] = [{ role: 'system', content: sections.join('\n\n') }];
  for (const item of window.recent) {
    const files = item.role === 'user' && item.files?.length ? { files: item.files } : {};
    messages.push({ role: item.role === 'assistant' ? 'assistant' : 'user', content: renderItem(item), ...files });
  }
  if (input.opening) messages.push({ role: 'user', content: OPENING_NOTE });
  if (input.forceRespond) {
    messages.push({ role: 'user', content: '[note] Decision limit reached: RESPOND to the user now.' });
  }
  if (input.retryTool) {
    messages.push({ role: 'user', content: `[note] The arguments of your last ${input.retryTool} call were invalid: to call a tool now, call ${input.retryTool} again with corrected arguments.` });
  }
  if (input.lastError) {
    messages.push({
      role: 'user',
      content: `[note] Your previous decision was rejected: ${input.lastError}. Answer again with one valid JSON decision.`,
    });
  }
  return messages;
}
