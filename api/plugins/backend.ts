/**
 * Decorates the root instance with the session backend and the loaded agents, and closes the backend when the app
 * closes (`app.close()`: SIGTERM in `server.ts`, or the end of a test). Not encapsulated, so every route sees them.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AgentSnapshot } from '../../src/config/agent.js';
import type { SessionBackend } from '../sessions.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where sessions live (Temporal in production, in-process in tests and `stepwise chat`). */
    backend: SessionBackend;
    /** Agents this API can start sessions for, by agent name (`AgentSnapshot.name`). */
    agents: ReadonlyMap<string, AgentSnapshot>;
  }
}

export interface BackendPluginOptions {
  backend: SessionBackend;
  agents: ReadonlyMap<string, AgentSnapshot>;
}

const backendPlugin: FastifyPluginAsync<BackendPluginOptions> = async (app: FastifyInstance, opts) => {
  app.decorate('backend', opts.backend);
  app.decorate('agents', opts.agents);
  app.addHook('onClose', async () => {
    await opts.backend.close();
  });
};

// Same effect as wrapping with fastify-plugin: decorations land on the parent instead of a child context.
(backendPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export default backendPlugin;
