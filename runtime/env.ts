/**
 * Process configuration from the environment, shared by `stepwise worker`, `stepwise api` and `stepwise dev`.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `TEMPORAL_ADDRESS` | `localhost:7233` | Temporal frontend host:port |
 * | `TEMPORAL_NAMESPACE` | `default` | namespace |
 * | `TEMPORAL_API_KEY` | unset | API key (Temporal Cloud); turns TLS on unless `TEMPORAL_TLS=false` |
 * | `TEMPORAL_TLS` | `false` (`true` with an API key) | `false` with an API key sends the key without TLS (a local server or proxy only) |
 * | `TEMPORAL_TLS_CERT_PATH`, `TEMPORAL_TLS_KEY_PATH` | unset | mTLS client cert and key (PEM files) |
 * | `STEPWISE_TASK_QUEUE` | `stepwise` | task queue |
 * | `STEPWISE_AGENTS` | `examples` | comma-separated agent YAML files or directories |
 * | `DATABASE_URL` | unset | PostgreSQL archive; unset turns the archive off |
 *
 * Node only.
 */
import { readFileSync } from 'node:fs';
import type { ArchiveStore } from '../src/archive/store.js';
import { loadAgents, type LoadedAgent } from './agents/load.js';
import { ConfigError } from '../src/errors.js';

/** Connection options for `Connection.connect` / `NativeConnection.connect`. Secrets stay in this process. */
export function temporalConnectionOptions(env: NodeJS.ProcessEnv = process.env): {
  address: string;
  tls?: boolean | { clientCertPair: { crt: Buffer; key: Buffer } };
  apiKey?: string;
} {
  const address = env.TEMPORAL_ADDRESS || 'localhost:7233';
  if (env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH) {
    return {
      address,
      tls: { clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT_PATH), key: readFileSync(env.TEMPORAL_TLS_KEY_PATH) } },
      ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    };
  }
  // The SDK turns TLS on for an API key unless told `tls: false`; TEMPORAL_TLS=false says so (the key then crosses the
  // network in the clear, so only for a server on this machine or behind a TLS-terminating proxy, e.g. the dev server).
  if (env.TEMPORAL_API_KEY) return { address, tls: !/^(false|0)$/.test(env.TEMPORAL_TLS ?? ''), apiKey: env.TEMPORAL_API_KEY };
  return { address };
}

/**
 * `STEPWISE_WORKFLOW_CACHE_SIZE`: how many session workflows a worker keeps in memory (the SDK's
 * `maxCachedWorkflows`); a session evicted from the cache is replayed from its history on its next turn. Unset: the
 * SDK's default (from the worker's memory). `npm run bench:scale -- --cold` measures what an eviction costs.
 *
 * @throws ConfigError (not retryable) when set to anything but a whole number >= 1.
 */
export function workflowCacheSize(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.STEPWISE_WORKFLOW_CACHE_SIZE;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new ConfigError([{ file: 'environment', path: 'STEPWISE_WORKFLOW_CACHE_SIZE', message: `must be a whole number >= 1, got "${raw}"`, severity: 'error' }]);
  }
  return n;
}

/** Agent config paths from `STEPWISE_AGENTS` (comma-separated), default `examples`. */
export function agentPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.STEPWISE_AGENTS || 'examples')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * Loads every agent named by `STEPWISE_AGENTS`, printing config warnings.
 *
 * @throws ConfigError (not retryable) listing every problem with file, line and path.
 */
export async function loadAgentsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<LoadedAgent[]> {
  const agents = await loadAgents(agentPaths(env), { env });
  for (const a of agents) for (const w of a.warnings) console.warn(`warning: ${w.file}:${w.line ?? '?'} ${w.path}: ${w.message}`);
  return agents;
}

/**
 * The environment the API listens with: `PORT` / `HOST` as set, else the first agent's NOMOS `server.port` /
 * `server.host` (NOMOS agents carry them in their YAML). Agents naming different ports get a warning; the first wins.
 */
export function listenEnv(agents: LoadedAgent[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [variable, key] of [['PORT', 'port'], ['HOST', 'host']] as const) {
    if (env[variable]) continue;
    const declared = agents.filter((a) => a.server?.[key] !== undefined);
    const first = declared[0];
    if (!first) continue;
    const value = String(first.server?.[key]);
    out[variable] = value;
    const others = declared.filter((a) => String(a.server?.[key]) !== value);
    if (others.length > 0) {
      console.warn(`warning: agents name different server.${key} values; using ${value} from ${first.file} (set ${variable} to choose)`);
    }
  }
  return out;
}

/**
 * Opens the PostgreSQL archive when `DATABASE_URL` is set, running migrations first; `undefined` otherwise.
 *
 * @throws SystemError `ARCHIVE_UNAVAILABLE` (retryable: restart or retry later) if the database is unreachable.
 */
export async function connectArchiveFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ArchiveStore | undefined> {
  if (!env.DATABASE_URL) return undefined;
  const { migrateArchive } = await import('../archive/migrate.js');
  const { createPgArchive } = await import('../archive/pg-store.js');
  await migrateArchive(env.DATABASE_URL);
  return createPgArchive(env.DATABASE_URL);
}
