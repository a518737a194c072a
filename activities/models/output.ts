/**
 * Provider-neutral handling of model output: parsing decision text as JSON, finishing summaries, and the summary
 * prompt shared by the OpenAI and Anthropic adapters.
 */
import { clip } from '../../src/engine/memory.js';
import { cleanTitle } from '../../src/engine/title.js';
import type { SummarizeRequest } from '../../src/engine/types.js';
import { modelOutputInvalid, type ProviderName } from './errors.js';

/**
 * Parses a model's decision text as JSON. Tolerates surrounding whitespace and one enclosing Markdown code fence
 * (some local OpenAI-compatible models add one even in JSON mode).
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` (with an excerpt) when empty or not JSON.
 */
export function parseDecisionText(text: string | null | undefined, provider: ProviderName): unknown {
  const trimmed = (text ?? '').trim();
  if (!trimmed) throw modelOutputInvalid(provider, 'empty output');
  const fenced = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  const body = fenced ? fenced[1]!.trim() : trimmed;
  try {
    return JSON.parse(body);
  } catch {
    throw modelOutputInvalid(provider, 'not JSON', trimmed);
  }
}

/** System and user prompt for a flow-memory summary. */
export interface SummaryPrompt {
  system: string;
  user: string;
}

/**
 * Builds the summary prompt: the system prompt explains the purpose (`flow_enter`: condense the conversation so far
 * for the flow about to start; `flow_exit`: condense what happened inside the flow for the rest of the session) and
 * the length limit; the user message lists the previous summaries and the items (oldest first, `role: text`).
 */
export function buildSummaryPrompt(req: SummarizeRequest): SummaryPrompt {
  const purpose =
    req.purpose === 'flow_enter'
      ? `The conversation is entering the flow "${req.flowId}". Summarise the conversation so far so that the flow ` +
        'can continue with the context it needs.'
      : `The conversation is leaving the flow "${req.flowId}". Summarise what happened inside the flow (what the ` +
        'user wanted, what was done, results, open questions) for the rest of the conversation.';
  const system = [
    'You maintain the memory of a conversation between a user and an AI agent.',
    purpose,
    'Keep facts, names, numbers, decisions and anything the user asked for; drop pleasantries.',
    `Write plain text of at most ${req.maxChars} characters. Reply with the summary only.`,
  ].join('\n');
  const previous = req.previousSummaries.length
    ? `Previous summaries (oldest first):\n${req.previousSummaries.map((s) => `- ${s}`).join('\n')}\n\n`
    : '';
  const items = req.items.length ? req.items.map((i) => `${i.role}: ${i.text}`).join('\n') : '(no messages)';
  return { system, user: `${previous}Conversation (oldest first):\n${items}` };
}

/**
 * Normalises a model's summary: trimmed and clipped to `maxChars`.
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` if the model returned no text.
 */
export function finishSummary(text: string | null | undefined, maxChars: number, provider: ProviderName): string {
  const trimmed = (text ?? '').trim();
  if (!trimmed) throw modelOutputInvalid(provider, 'empty summary');
  return clip(trimmed, maxChars);
}

/**
 * Normalises a model's title answer with `cleanTitle` (first line, no quotes or trailing period, at most `maxChars`).
 *
 * @throws ApplicationFailure non-retryable `MODEL_OUTPUT_INVALID` if nothing usable is left.
 */
export function finishTitle(text: string | null | undefined, maxChars: number, provider: ProviderName): string {
  const title = cleanTitle(text ?? '', maxChars);
  if (!title) throw modelOutputInvalid(provider, 'empty title', text ?? '');
  return title;
}
