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
  /**
   * The call's id within its session, `t<turn>.<n>` (`t3.1`: first call of turn 3), stable across activity retries.
   * Unique only within the session (every session has a `t1.1`): use {@link idempotencyKey} towards other systems.
   */
  callId: string;
  /**
   * The call's globally unique idempotency key, `<sessionId>/<callId>` (see {@link toolIdempotencyKey}), the same on
   * every attempt of the call (the `runTool` activity is tried up to 3 times). `@api` HTTP tools send it as the
   * `Idempotency-Key` header; a tool with side effects should pass it to the system it changes.
   */
  idempotencyKey: string;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
}

/**
 * The idempotency key of one tool call: `<sessionId>/<callId>`, e.g. `order-42/t3.1`. Unambiguous because a session
 * id has no `/` (workflows/shared.ts `SessionId`: letters, digits, `_ - . :`), and header-safe (ASCII). Pure.
 */
export function toolIdempotencyKey(sessionId: string, callId: string): string {
  return `${sessionId}/${callId}`;
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
