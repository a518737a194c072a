/**
 * `stepwise api`: loads the agents, opens the archive when `DATABASE_URL` is set (running migrations), and serves the
 * REST API until SIGINT/SIGTERM. Temporal being unreachable does not stop it (see api/server.ts).
 */
import { loadApiConfig } from '../api/config.js';
import { startServer } from '../api/server.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { connectArchiveFromEnv, listenEnv, loadAgentsFromEnv } from './env.js';

/** Runs the API from the environment. @throws ConfigError for invalid agents; the listen error for a taken port. */
export async function runApiFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const loaded = await loadAgentsFromEnv(env);
  const agents = new Map<string, AgentSnapshot>(loaded.map((a) => [a.snapshot.name, a.snapshot]));
  const archive = await connectArchiveFromEnv(env);
  const config = loadApiConfig(listenEnv(loaded, env));
  const server = await startServer({ agents, archive, databaseUrl: env.DATABASE_URL, config });
  console.log(`stepwise api: listening on ${server.address} (docs: ${server.address}/docs), archive ${archive ? 'on' : 'off'}`);
}
