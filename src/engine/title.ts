/**
 * Generated session titles (OmniAgent's chat names): the `generateTitle` activity's payloads, its prompt, and how a
 * model's answer becomes a title. After a session's first exchange the workflow asks the agent's `session_title`
 * model once (sessions since the `session-title` patch); the title becomes the session's name unless the user named
 * it. A failed title call changes nothing in the conversation.
 *
 * Pure (no Node imports).
 */
import { z } from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { LlmConfig } from '../config/agent.js';
import { ProviderUsage } from './usage.js';

/** Longest title, in characters (OmniAgent's limit; `session_title.max_chars` may lower it). */
export const MAX_TITLE_CHARS = 60;

/** Characters of the user message and of the reply sent to the title model (a title needs the gist only). */
export const TITLE_CONTEXT_CHARS = 2_000;

/** Input of `generateTitle`: the first exchange, clipped to {@link TITLE_CONTEXT_CHARS} each. */
export const TitleRequest = lazySchema(() => z.object({
  sessionId: z.string(),
  agentName: z.string(),
  /** The title model, with `session_title.temperature` applied. */
  llm: LlmConfig,
  userText: z.string().max(TITLE_CONTEXT_CHARS),
  replyText: z.string().max(TITLE_CONTEXT_CHARS),
  /** Longest title wanted, 1 to {@link MAX_TITLE_CHARS}. */
  maxChars: z.number().int().min(1).max(MAX_TITLE_CHARS),
}));
export type TitleRequest = z.infer<typeof TitleRequest>;

/** Output of `generateTitle`: the cleaned title (never empty) and the call's usage. */
export const TitleResult = lazySchema(() => z.object({ title: z.string().min(1).max(MAX_TITLE_CHARS), model: z.string().optional(), usage: ProviderUsage.optional() }));
export type TitleResult = z.infer<typeof TitleResult>;

/** System and user prompt of a title call. */
export function buildTitlePrompt(req: TitleRequest): { system: string; user: string } {
  return {
    system: [
      'You name conversations for a list of chats.',
      `Reply with a short title (at most ${req.maxChars} characters, ideally 3 to 6 words) that says what the user wants.`,
      'Plain text on one line: no quotes, no trailing period, no emoji, no "Title:" prefix.',
    ].join('\n'),
    user: `User: ${req.userText}\nAssistant: ${req.replyText}`,
  };
}

/**
 * A model's answer as a title: the first non-empty line, without a `Title:` prefix, surrounding quotes, Markdown
 * emphasis or a trailing period, whitespace collapsed, cut at a word boundary to `maxChars` (a single long word is
 * cut hard). Returns `''` when nothing is left (the caller treats that as a failed call).
 */
export function cleanTitle(text: string, maxChars: number): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const unquote = (s: string) => s.replace(/^[#*_\s"'“”‘’`]+|[*_\s"'“”‘’`]+$/g, '');
  let t = unquote(unquote(line).replace(/^(?:title|chat name)\s*:\s*/i, ''));
  t = t.replace(/\s+/g, ' ').trim();
  t = t.replace(/[.。]+$/, '').trim();
  if (t.length <= maxChars) return t;
  const cut = t.slice(0, maxChars + 1);
  const space = cut.lastIndexOf(' ');
  return (space > maxChars / 3 ? cut.slice(0, space) : t.slice(0, maxChars)).replace(/[\s,;:–-]+$/, '');
}

/** The scripted provider's title: the user's first words, cleaned as {@link cleanTitle} (deterministic, offline). */
export function scriptedTitle(req: TitleRequest): string {
  return cleanTitle(req.userText, req.maxChars) || 'New chat';
}
