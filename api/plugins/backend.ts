/**
 * Decorates the root instance with the session backend, the loaded agents and the session archive (if any), and
 * closes the backend and the archive when the app closes (`app.close()`: SIGTERM in `server.ts`, or the end of a
 * test). Not encapsulated, so every route sees them.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ArchiveStore } from '../../src/archive/store.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import type { SessionBackend } from '../sessions.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where sessions live (Temporal in production, in-process in tests and `stepwise chat`). */
    backend: SessionBackend;
    /** Agents this API can start sessions for, by agent name (`AgentSnapshot.name`). */
    agents: ReadonlyMap<string, AgentSnapshot>;
    /** The session archive (PostgreSQL when `DATABASE_URL` is set); `undefined` when the archive is off. */
    archive: ArchiveStore | undefined;
  }
}

export interface BackendPluginOptions {
  backend: SessionBackend;
  agents: ReadonlyMap<string, AgentSnapshot>;
  /** Closed with the app (`ArchiveStore.close` is idempotent, so a caller closing it too is harmless). */
  archive?: ArchiveStore;
}

const backendPlugin: FastifyPluginAsync<BackendPluginOptions> = async (app: FastifyInstance, opts) => {
  app.decorate('backend', opts.backend);
  app.decorate('agents', opts.agents);
  app.decorate('archive', opts.archive);
  app.addHook('onClose', async () => {
    await opts.backend.close();
    await opts.archive?.close();
  });
};

// Same effect as wrapping with fastify-plugin: decorations land on the parent instead of a child context.
(backendPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default backendPlugin;
