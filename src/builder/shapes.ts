/**
 * Request and reply shapes of the flow builder's routes (`api/routes/agent-builder.ts`), in `src/` (zod only) so
 * the web app imports the same schemas' types without the server code.
 */
import { z } from 'zod';

/** One problem found in a YAML text; `line`/`column` are 1-based (absent when the problem has no place). */
export const ValidationIssue = z.object({
  path: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

export const ValidateBody = z.object({
  /** The agent YAML (Stepwise or NOMOS field names). */
  yaml: z.string().max(200_000),
  /** The loaded agent the text edits (its tools and directory are used); default: the agent named by the YAML. */
  agentId: z.string().min(1).max(200).optional(),
});
export type ValidateBody = z.infer<typeof ValidateBody>;

export const ValidateReply = z.object({ ok: z.boolean(), errors: z.array(ValidationIssue), warnings: z.array(ValidationIssue) });
export type ValidateReply = z.infer<typeof ValidateReply>;

export const AgentSource = z.object({
  agentId: z.string(),
  /** The file, relative to the server's working directory. */
  file: z.string(),
  yaml: z.string(),
  /** sha256 (hex) of the file's bytes: send it back as `baseHash`. */
  hash: z.string(),
  configHash: z.string(),
});
export type AgentSource = z.infer<typeof AgentSource>;

export const SaveSourceBody = z.object({ yaml: z.string().min(1).max(200_000), baseHash: z.string().min(1).max(128) });
export type SaveSourceBody = z.infer<typeof SaveSourceBody>;

