/**
 * The tool interface that tool modules implement.
 *
 * A tool module (listed under `tools.tool_files`, `.ts`, `.js` or `.mjs`, path relative to the YAML) exports
 * `tools: ToolDefinition[]`. Arguments are validated against `parameters` before `execute` runs; anything `execute`
 * throws becomes a tool error the model sees, never a crashed turn.
 *
 * Per-session state (a cart) must key on `context.sessionId`: one worker process serves many sessions, and a session
 * may move between workers, so durable per-session state belongs in a store, not in module variables, in production.
 */
import type { z } from 'zod';

/** Passed to every `execute`. */
export interface ToolContext {
  sessionId: string;
  stepId: string;
  agentName: string;
  /** Unique per call within the session (`t<turn>.<n>`), stable across activity retries: use it as an idempotency key. */
  callId: string;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
}

/** A tool: `parameters` is a zod schema or a plain JSON Schema object (`{type: 'object', properties: ...}`). */
export interface ToolDefinition<Args = any> {
  name: string;
  description: string;
  parameters: z.ZodType | Record<string, unknown>;
  /** Returns any JSON-serialisable value (kept up to 4,000 characters in memory). May be async. */
  execute(args: Args, context: ToolContext): unknown;
}

/** Identity helper that types `execute`'s arguments from a zod schema. */
export function defineTool<S extends z.ZodType>(tool: {
  name: string;
  description: string;
  parameters: S;
  execute(args: z.infer<S>, context: ToolContext): unknown;
}): ToolDefinition<z.infer<S>> {
  return tool;
}
