/**
 * `stepwise api`: loads the agents, opens the archive when `DATABASE_URL` is set (running migrations), and serves the
 * REST API until SIGINT/SIGTERM. Temporal being unreachable does not stop it (see api/server.ts).
 */
import { loadApiConfig } from '../api/config.js';
import { startServer } from '../api/server.js';
import { StepwiseError } from '../src/errors.js';
import type { AgentSnapshot } from '../src/config/agent.js';
import { tracingFromEnv } from '../runtime/tracing.js';
import { connectArchiveFromEnv, listenEnv, loadAgentsFromEnv } from '../runtime/env.js';

/**
 * Runs the API from the environment.
 * @throws StepwiseError INVALID_CONFIG when no credentials are configured and `STEPWISE_AUTH=off` is not set (auth is
 *   on by default outside `stepwise dev`); ConfigError for invalid agents; the listen error for a taken port.
 */
export async function runApiFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const loaded = await loadAgentsFromEnv(env);
  const agents = new Map<string, AgentSnapshot>(loaded.map((a) => [a.snapshot.name, a.snapshot]));
  const archive = await connectArchiveFromEnv(env);
  const config = loadApiConfig(listenEnv(loaded, env));
  if (!config.auth && !config.authOff) {
    throw new StepwiseError(
      'INVALID_CONFIG',
      'stepwise api: no credentials configured. Set STEPWISE_API_KEYS, STEPWISE_API_KEYS_FILE or STEPWISE_JWT_JWKS_URL ' +
        '(docs/production.md "Authentication"), or STEPWISE_AUTH=off to serve without authentication.',
    );
  }
  const tracing = await tracingFromEnv('stepwise-api', env);
  const server = await startServer({ agents, archive, databaseUrl: env.DATABASE_URL, config, tracing });
  if (tracing) server.app.addHook('onClose', () => tracing.shutdown());
  console.log(`stepwise api: listening on ${server.address} (web app: ${server.address}/, docs: ${server.address}/docs), archive ${archive ? 'on' : 'off'}, auth ${config.auth ? 'on' : 'OFF'}`);
}
