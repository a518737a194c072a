/**
 * The decision a model returns each iteration, and the per-step schema that admits only that step's actions,
 * routes and tools.
 *
 * Decision JSON is exactly one of (each with optional `reasoning: string[]`):
 * `{action:"RESPOND", response}` | `{action:"RESPOND", answer}` (steps with `answer_model`) |
 * `{action:"TOOL_CALL", tool_calls:[{tool, arguments}]}` | `{action:"MOVE", step_id}` | `{action:"END", response?}`.
 * With semantics ≥ 2 (src/engine/types.ts `ENGINE_SEMANTICS`), as in NOMOS: an `auto_flow` step has no RESPOND, and a
 * `quick_suggestions` step's RESPOND may carry `suggestions: string[]`.
 *
 * Pure: used by the engine inside workflows.
 */
import { z } from 'zod';
import type { AgentSnapshot, Step } from '../config/agent.js';

export const ACTIONS = ['RESPOND', 'TOOL_CALL', 'MOVE', 'END'] as const;
export const Action = z.enum(ACTIONS);
export type Action = z.infer<typeof Action>;

const reasoning = z.array(z.string()).optional();

/** The most general decision shape (any step). Per-step schemas narrow it. */
export const Decision = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('RESPOND'),
    response: z.string().optional(),
    answer: z.unknown().optional(),
    suggestions: z.array(z.string()).optional(),
    reasoning,
  }),
  z.strictObject({
    action: z.literal('TOOL_CALL'),
    tool_calls: z.array(z.strictObject({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) })).min(1),
    reasoning,
  }),
  z.strictObject({ action: z.literal('MOVE'), step_id: z.string(), reasoning }),
  z.strictObject({ action: z.literal('END'), response: z.string().optional(), reasoning }),
]);
export type Decision = z.infer<typeof Decision>;

/** Options narrowing a step's schema. */
export interface DecisionSchemaOptions {
  /** Only RESPOND is allowed (the last iteration of a turn, `max_iter`). */
  forceRespond?: boolean;
  /** The session's engine semantics (`ENGINE_SEMANTICS`); absent = 1 (`auto_flow`, `quick_suggestions` ignored). */
  semantics?: number;
  /** TOOL_CALL may call only this tool (semantics ≥ 3: the retry after invalid arguments for it). */
  onlyTool?: string;
}

/** NOMOS step rules apply (semantics ≥ 2). */
const nomosRules = (opts: DecisionSchemaOptions) => (opts.semantics ?? 1) >= 2;

/**
 * Builds the zod schema of decisions allowed in `step`: RESPOND (with `answer` matching the step's `answer_model` when
 * set, else `response`), TOOL_CALL only if the step has tools (and only those names), MOVE only to its routes, END.
 *
 * @throws Error if the step's answer model is not a JSON Schema zod can read (config validation prevents it).
 */
export function decisionSchemaFor(agent: AgentSnapshot, step: Step, opts: DecisionSchemaOptions = {}): z.ZodType<Decision> {
  const key = cacheKey(agent, step, opts);
  const cached = schemaCache.get(key);
  if (cached) return cached;
  const schema = buildDecisionSchema(agent, step, opts);
  remember(schemaCache, key, schema);
  return schema;
}

/**
 * Built schemas by agent name + config hash + step: pure values of the pinned config, so sharing them between
 * workflows in one isolate is deterministic. Bounded to {@link MAX_CACHED} entries (oldest dropped).
 */
const schemaCache = new Map<string, z.ZodType<Decision>>();
const jsonSchemaCache = new Map<string, Record<string, unknown>>();
const MAX_CACHED = 500;

function cacheKey(agent: AgentSnapshot, step: Step, opts: DecisionSchemaOptions): string {
  return `${agent.name}\u0000${agent.configHash}\u0000${step.id}\u0000${opts.forceRespond ? 1 : 0}\u0000${opts.semantics ?? 1}${opts.onlyTool ? `\u0000${opts.onlyTool}` : ''}`;
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}

function buildDecisionSchema(agent: AgentSnapshot, step: Step, opts: DecisionSchemaOptions): z.ZodType<Decision> {
  const variants: z.ZodObject[] = [];
  const nomos = nomosRules(opts);
  const suggestions = nomos && step.quickSuggestions ? { suggestions: z.array(z.string()).max(10).optional() } : {};
  if (nomos && step.autoFlow && !opts.forceRespond) {
    // auto_flow: the step never answers the user itself (NOMOS drops RESPOND and `response` from its schema).
  } else if (step.answerModel) {
    const answer = z.fromJSONSchema(step.answerModel as Parameters<typeof z.fromJSONSchema>[0]);
    variants.push(
      step.answerOrText
        ? z
            .strictObject({ action: z.literal('RESPOND'), answer: answer.optional(), response: z.string().optional(), ...suggestions, reasoning })
            .refine((d) => d.answer !== undefined || (d.response ?? '').length > 0, {
              message: 'RESPOND needs `answer` (the answer model) or a non-empty `response`',
            })
        : z.strictObject({ action: z.literal('RESPOND'), answer, response: z.string().optional(), ...suggestions, reasoning }),
    );
  } else {
    variants.push(z.strictObject({ action: z.literal('RESPOND'), response: z.string().min(1), ...suggestions, reasoning }));
  }
  if (!opts.forceRespond) {
    const tools = step.tools.filter((t) => agent.tools.some((d) => d.name === t) && (!opts.onlyTool || t === opts.onlyTool));
    if (tools.length > 0) {
      const toolName = z.enum(tools as [string, ...string[]]);
      variants.push(
        z.strictObject({
          action: z.literal('TOOL_CALL'),
          tool_calls: z
            .array(z.strictObject({ tool: toolName, arguments: z.record(z.string(), z.unknown()) }))
            .min(1)
            .max(8),
          reasoning,
        }),
      );
    }
    const targets = step.routes.map((r) => r.target);
    if (targets.length > 0) {
      variants.push(
        z.strictObject({ action: z.literal('MOVE'), step_id: z.enum(targets as [string, ...string[]]), reasoning }),
      );
    }
    variants.push(z.strictObject({ action: z.literal('END'), response: z.string().optional(), reasoning }));
  }
  if (variants.length === 1) return variants[0] as unknown as z.ZodType<Decision>;
  return z.discriminatedUnion('action', variants as [z.ZodObject, z.ZodObject, ...z.ZodObject[]]) as unknown as z.ZodType<Decision>;
}

/** Actions allowed in a step (for prompts and error messages). */
export function allowedActions(step: Step, opts: DecisionSchemaOptions = {}): Action[] {
  if (opts.forceRespond) return ['RESPOND'];
  const actions: Action[] = nomosRules(opts) && step.autoFlow ? [] : ['RESPOND'];
  if (step.tools.length > 0) actions.push('TOOL_CALL');
  if (step.routes.length > 0) actions.push('MOVE');
  actions.push('END');
  return actions;
}

/**
 * JSON Schema of a step's decisions, as sent to providers (OpenAI `response_format`, Anthropic tool input).
 * Tool argument schemas are inlined per tool so the model sees each tool's parameters.
 */
export function decisionJsonSchema(agent: AgentSnapshot, step: Step, opts: DecisionSchemaOptions = {}): Record<string, unknown> {
  const key = cacheKey(agent, step, opts);
  let schema = jsonSchemaCache.get(key);
  if (!schema) {
    schema = z.toJSONSchema(decisionSchemaFor(agent, step, opts), { unrepresentable: 'any' }) as Record<string, unknown>;
    delete schema.$schema;
    remember(jsonSchemaCache, key, schema);
  }
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>; // callers may mutate their copy
}

/**
 * Formats a zod error for the model's re-ask: short, one line per issue, with the path.
 */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 6)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
