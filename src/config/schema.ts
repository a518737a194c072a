/**
 * Zod schema of the agent YAML (NOMOS `config.agent.yaml` field names and aliases).
 *
 * This file describes the *raw* document exactly as written: strict objects (unknown keys are errors), both a field
 * and its NOMOS alias accepted (`step_id`|`id`, `routes`|`paths`, ...). {@link normalizeAgent} in `./normalize.ts`
 * turns a parsed document into the canonical, JSON-safe {@link AgentSnapshot} that sessions pin.
 *
 * By section: `./schema/llm.ts`, `./schema/steps.ts` (steps and flows), `./schema/tools.ts`, `./schema/session.ts`
 * (session, server, logging); this module holds the whole document ({@link RawAgent}) and re-exports the sections.
 *
 * Pure: no Node imports.
 */
import { z } from 'zod';
import { RawLlmConfig, RawLlmSection } from './schema/llm.js';
import { RawSession, RawServer, RawLogging } from './schema/session.js';
import { RawFlow, RawMemoryWindow, RawRetriever, RawStep } from './schema/steps.js';
import { RawTools } from './schema/tools.js';

export * from './schema/llm.js';
export * from './schema/session.js';
export * from './schema/steps.js';
export * from './schema/tools.js';
import { RawPricing, RawSessionTitle } from './raw-titles-and-pricing.js';

export const RawAgent = z.strictObject({
  schema_version: z.literal(1).optional(),
  /** Agent name. A display name with spaces (NOMOS allows any text) gets a URL-safe id derived from it. */
  name: z.string().min(1).max(200),
  persona: z.string().optional(),
  system_message: z.string().optional(),
  start_step_id: z.string().min(1),
  steps: z.array(RawStep).min(1),
  flows: z.array(RawFlow).optional(),
  /** Optional, as in NOMOS: {@link DEFAULT_LLM} (openai `gpt-4o-mini`) when absent, with a warning. */
  llm: RawLlmSection.optional(),
  tools: RawTools.optional(),
  max_errors: z.number().int().min(1).max(20).optional(),
  max_iter: z.number().int().min(1).max(100).optional(),
  session: RawSession.optional(),
  memory: z
    .strictObject({
      retriever: RawRetriever.optional(),
      ...RawMemoryWindow,
      /** NOMOS memory type (`base` | `summarization`) and its kwargs: accepted with a warning. */
      type: z.enum(['base', 'summarization']).optional(),
      kwargs: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  show_steps_desc: z.boolean().optional(),
  version: z.union([z.string(), z.number()]).optional(),
  /** NOMOS: most examples shown per decision (default 5) and the least similarity of a dynamic example (0.5). */
  max_examples: z.number().int().min(0).max(100).optional(),
  threshold: z.number().min(-1).max(1).optional(),
  /**
   * NOMOS: the embeddings model (memory retrieval with `retriever.method: embedding`, dynamic examples): a config
   * (`{provider, model}`) or a model name on the global llm's provider. See src/config/embeddings.ts.
   */
  embedding_model: z.union([z.string().min(1), RawLlmConfig]).optional(),
  /** NOMOS: named answer-model schemas, `name: path` relative to the YAML (`.json` JSON Schema files). */
  schemas: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), z.string().min(1)).optional(),
  server: RawServer.optional(),
  logging: RawLogging.optional(),
  /** Generated session titles (off unless written; see src/config/titles-and-pricing.ts). */
  session_title: RawSessionTitle.optional(),
  /** US dollars per million tokens by model name: usage gets a cost. */
  pricing: RawPricing.optional(),
});
export type RawAgent = z.infer<typeof RawAgent>;
