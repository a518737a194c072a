/**
 * Request shapes of the AI SDK chat endpoint (`./ai-sdk.ts`), read from `ai@6`'s `HttpChatTransport` (what
 * `useChat` POSTs) and its UI message types (`UIMessage`, tool UI parts with `approval`). Loose where AI SDK puts
 * more than Stepwise reads (its own message fields, the app's extra `body` fields): the real client must pass as is.
 */
import { z } from 'zod';
import type { ApprovalDecision } from '../../src/engine/types.js';
import { MAX_FILE_NAME_CHARS } from '../../src/engine/files.js';
import { CallerError } from '../../src/errors.js';
import { MAX_APPROVAL_REASON_CHARS, MessageId, SessionId } from '../../workflows/shared.js';
import { type Upload, uploadOfUrl } from '../files/uploads.js';

/** Most messages one POST may carry (`useChat` sends the whole chat; only the last is read). */
export const MAX_CHAT_MESSAGES = 2_000;

/** One part of a UI message: `text`, `file`, `dynamic-tool`, `tool-<name>`, `data-<name>`, ... (fields vary by type). */
export const UiPart = z.looseObject({ type: z.string().min(1).max(200) });

/** A UI message as `useChat` keeps it. */
export const UiMessage = z.looseObject({
  id: z.string().max(200),
  role: z.enum(['system', 'user', 'assistant']),
  parts: z.array(UiPart).max(1_000),
});
export type UiMessage = z.infer<typeof UiMessage>;

/**
 * `POST /ai-sdk/chat` body: `DefaultChatTransport`'s `{id, messages, trigger, messageId}` plus the transport's
 * `body` option (`agentId` here; other fields are ignored).
 */
export const ChatRequestBody = z.looseObject({
  /** The chat id: Stepwise's session id (created with the first message). */
  id: SessionId,
  messages: z.array(UiMessage).min(1).max(MAX_CHAT_MESSAGES),
  trigger: z.enum(['submit-message', 'regenerate-message']),
  /** The message to regenerate, or the assistant message an approval answer continues. */
  messageId: z.string().max(200).optional(),
  /** Agent of a new session (or `?agentId=`); checked against an existing one. */
  agentId: z.string().min(1).max(200).optional(),
});
export type ChatRequestBody = z.infer<typeof ChatRequestBody>;

export const ChatQuery = z.object({ agentId: z.string().min(1).max(200).optional() });

export const ChatParams = z.object({ id: SessionId });

/** A user message's text part. */
const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });

/** A user message as Stepwise reads it: its id becomes the turn's message id. */
export const UserUiMessage = z.looseObject({ id: MessageId, role: z.literal('user'), parts: z.array(UiPart) });

/**
 * A tool part the user answered (`addToolApprovalResponse`): state `approval-responded` with
 * `approval: {id, approved, reason?}`; Stepwise's approval id is the call id.
 */
export const AnsweredToolPart = z.looseObject({
  type: z.string().refine((t) => t === 'dynamic-tool' || t.startsWith('tool-')),
  toolCallId: z.string(),
  state: z.literal('approval-responded'),
  approval: z.looseObject({ id: z.string(), approved: z.boolean(), reason: z.string().max(MAX_APPROVAL_REASON_CHARS).optional() }),
});

/** The text of a user message: its text parts, joined by blank lines (files: {@link userUploads}). */
export function userText(message: UiMessage): string {
  return message.parts
    .flatMap((p) => {
      const t = TextPart.safeParse(p);
      return t.success ? [t.data.text] : [];
    })
    .join('\n\n');
}

/** A user message's file part (AI SDK `FileUIPart`): `url` is a `data:` URL or an `http(s)` URL. */
const FilePart = z.looseObject({ type: z.literal('file'), mediaType: z.string().max(255), url: z.string(), filename: z.string().max(1_000).optional() });

/**
 * The files of a user message, as uploads (`data:` URLs decoded, `http(s)` URLs kept); media types lower-cased.
 *
 * @throws CallerError 400 INVALID_REQUEST (a malformed file part or URL), 413 FILE_TOO_LARGE over `maxFileBytes`.
 */
export function userUploads(message: UiMessage, maxFileBytes: number): Upload[] {
  return message.parts.flatMap((p, i) => {
    if (p.type !== 'file') return [];
    const part = FilePart.safeParse(p);
    const where = `the last message's part ${i} (file)`;
    if (!part.success) throw new CallerError('INVALID_REQUEST', `${where}: needs mediaType and url`);
    const mediaType = part.data.mediaType.toLowerCase();
    const name = part.data.filename ? { name: part.data.filename.slice(0, MAX_FILE_NAME_CHARS) } : {};
    return [{ ...uploadOfUrl(part.data.url, mediaType, maxFileBytes, where), ...name }];
  });
}

/** The text of a message that has files and no text: the files' names (or types) in brackets, `[photo.png]`. */
export function filesOnlyText(uploads: Upload[]): string {
  return uploads.map((u) => `[${u.name ?? u.mediaType}]`).join(' ');
}

/** The approval answers in an assistant message: call id, decision, reason. */
export function approvalAnswers(message: UiMessage): Array<{ callId: string; decision: ApprovalDecision; reason?: string }> {
  return message.parts.flatMap((p) => {
    const part = AnsweredToolPart.safeParse(p);
    if (!part.success) return [];
    const { approval } = part.data;
    const decision: ApprovalDecision = approval.approved ? 'approve' : 'deny';
    return [{ callId: approval.id, decision, ...(approval.reason ? { reason: approval.reason } : {}) }];
  });
}
