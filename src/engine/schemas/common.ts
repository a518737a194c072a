/**
 * Building blocks of the engine's boundary objects: timestamps, flow memory and approval decisions.
 *
 * Everything in `src/engine/schemas/` crosses Temporal, so it is plain JSON (no Map/Set/Date/classes) with one zod
 * schema per object (STYLE.md 3-4). Pure: no Node imports.
 */
import { z } from 'zod';
import { lazySchema } from '../../lazy-schema.js';
import { FileRefs } from '../files.js';

/** ISO-8601 timestamp string, always passed in by the host (the engine never reads a clock). */
export const Timestamp = lazySchema(() => z.string());

// ---------------------------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------------------------

export const MEMORY_ROLES = ['user', 'assistant', 'tool', 'note'] as const;
export const MemoryRole = lazySchema(() => z.enum(MEMORY_ROLES));

/**
 * One remembered item: a user message, a reply, a tool result or an engine note. `text` is bounded (4 KiB); `files`:
 * a user message's attachments (references only, `../files.ts`), absent when it had none.
 */
export const MemoryItem = lazySchema(() =>
  z.object({
    seq: z.number().int(), turn: z.number().int(), role: MemoryRole, text: z.string(),
    files: FileRefs.optional(),
  }),
);
export type MemoryItem = z.infer<typeof MemoryItem>;

/** Session or flow memory: newest summaries (≤ 5) and items (≤ the window's `maxItems`). */
export const MemoryState = lazySchema(() => z.object({ summaries: z.array(z.string()), items: z.array(MemoryItem) }));
export type MemoryState = z.infer<typeof MemoryState>;

export const ActiveFlow = lazySchema(() => z.object({ flowId: z.string(), enteredAtTurn: z.number().int(), memory: MemoryState }));
export type ActiveFlow = z.infer<typeof ActiveFlow>;

// ---------------------------------------------------------------------------------------------------------------
// Approvals
// ---------------------------------------------------------------------------------------------------------------

export const APPROVAL_DECISIONS = ['approve', 'deny'] as const;
/** A human's answer to a tool call that needs approval. */
export const ApprovalDecision = lazySchema(() => z.enum(APPROVAL_DECISIONS));
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * A tool call waiting for a human decision (SessionView and TurnResult `pendingApprovals`). `timeoutAt` is set when
 * the tool's approval policy has a timeout; then the call is decided by its `on_timeout` (default deny).
 */
export const PendingApproval = lazySchema(() => z.object({
  callId: z.string(),
  tool: z.string(),
  arguments: z.unknown(),
  requestedAt: Timestamp,
  timeoutAt: Timestamp.optional(),
}));
export type PendingApproval = z.infer<typeof PendingApproval>;
