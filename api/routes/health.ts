/**
 * `GET /health`: the API is up (always 200) and whether its session backend can reach Temporal. `degraded` means
 * session routes answer 503 TEMPORAL_UNAVAILABLE until Temporal comes back (the server keeps reconnecting).
 *
 * The path is NOMOS's health route too (`{status: "healthy", timestamp}`, nomos/api/app.py): the reply carries NOMOS's
 * `timestamp` and keeps Stepwise's `status` values (`ok` | `degraded`), because Stepwise's own clients and monitors
 * compare them, while NOMOS's client only parses `status` as a string.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BackendHealth } from '../sessions.js';

export const HealthReply = z.object({
  status: z.enum(['ok', 'degraded']),
  temporal: z.enum(['ok', 'unavailable', 'not_used']),
  detail: z.string().optional(),
  /** Number of loaded agents. */
  agents: z.number().int(),
  /** When the reply was made, ISO 8601 UTC (NOMOS's `timestamp`). */
  timestamp: z.string(),
});
export type HealthReply = z.infer<typeof HealthReply>;

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    { schema: { tags: ['system'], summary: 'API and Temporal health', response: { 200: HealthReply } } },
    async () => {
      let health: BackendHealth;
      try {
        health = await app.backend.health();
      } catch (err) {
        health = { temporal: 'unavailable', detail: (err as Error).message };
      }
      return {
        status: health.temporal === 'unavailable' ? ('degraded' as const) : ('ok' as const),
        temporal: health.temporal,
        ...(health.detail ? { detail: health.detail } : {}),
        agents: app.agents.size,
        timestamp: new Date().toISOString(),
      };
    },
  );
};

export default healthRoutes;
