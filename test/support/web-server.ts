/**
 * The API with the web app, listening on a free port, over the in-process backend (`LocalSessions`) running the
 * example barista (examples/barista: scripted model, real tool code) through the real activity functions, with an
 * in-memory archive fed after every turn, as a worker's archive writes would. For the browser tests (test/web).
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build as viteBuild } from 'vite';
import { createActivities } from '../../activities/index.js';
import { ModelCache } from '../../activities/models/model.js';
import { InMemoryArchiveStore } from '../../archive/memory-store.js';
import { loadApiConfig } from '../../api/config.js';
import { DEFAULT_WEB_DIST_DIR } from '../../api/plugins/web.js';
import { type RunningServer, startServer } from '../../api/server.js';
import { localExecutors } from '../../cli/local-executors.js';
import { type AgentExecutors, LocalSessions } from '../../cli/local-sessions.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { loadAgent } from '../../runtime/agents/load.js';
import type { SessionInfo } from '../../workflows/shared.js';

const root = join(import.meta.dirname, '..', '..');

export interface WebServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: RunningServer;
  archive: InMemoryArchiveStore;
  close(): Promise<void>;
}

export interface WebServerOptions {
  /** More agents, with their own executors (e.g. scripted ones). */
  extraAgents?: Array<{ agent: AgentSnapshot; executors: AgentExecutors }>;
  /** Environment for the API config (e.g. `STEPWISE_TEMPORAL_UI_URL`). */
  env?: Record<string, string>;
  /** PostgreSQL to LISTEN on for streamed model tokens (`event: token`), as `stepwise api` with `DATABASE_URL`. */
  databaseUrl?: string;
}

/** Builds the web app if `web/dist` has no build yet (a checkout where `npm install` did not run `prepare`). */
export async function ensureWebBuild(): Promise<void> {
  if (existsSync(join(DEFAULT_WEB_DIST_DIR, 'index.html'))) return;
  await viteBuild({ root: join(root, 'web'), configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn' });
}

/** Newest modification time (ms) of the files under `dir`. */
function newestMtimeMs(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((newest, e) => Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
}

/**
 * A build of this checkout's web app: `web/dist` when it is newer than every file of `web/src` (and
 * `web/index.html`), else a fresh build into a temp dir (a worktree whose `web/dist` is another checkout's build).
 * @returns the directory to serve (`web: { distDir }`).
 */
export async function currentWebBuild(): Promise<string> {
  const index = join(DEFAULT_WEB_DIST_DIR, 'index.html');
  const sources = Math.max(newestMtimeMs(join(root, 'web', 'src')), statSync(join(root, 'web', 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return DEFAULT_WEB_DIST_DIR;
  const outDir = mkdtempSync(join(tmpdir(), 'stepwise-web-dist-'));
  await viteBuild({ root: join(root, 'web'), configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  return outDir;
}

/** Starts the server; close it with `close()`. */
export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  await ensureWebBuild();
  const barista = await loadAgent(join(root, 'examples', 'barista', 'barista.agent.yaml'), { env: {} });
  const activities = createActivities({ models: new ModelCache(), tools: new Map([[barista.snapshot.name, barista.tools]]) });
  const executors = new Map<string, AgentExecutors>([[barista.snapshot.name, localExecutors(activities)]]);
  const agents = new Map<string, AgentSnapshot>([[barista.snapshot.name, barista.snapshot]]);
  for (const extra of options.extraAgents ?? []) {
    agents.set(extra.agent.name, extra.agent);
    executors.set(extra.agent.name, extra.executors);
  }
  const archive = new InMemoryArchiveStore();
  // Archive the start too (with the user id, name and metadata), as the worker's archiveSessionStart does.
  class ArchivingSessions extends LocalSessions {
    override async start(agent: AgentSnapshot, sessionId: string, info: SessionInfo = {}): Promise<void> {
      await super.start(agent, sessionId, info);
      await archive.recordSessionStart({ sessionId, agentName: agent.name, configHash: agent.configHash, createdAt: new Date().toISOString(), ...info });
    }
  }
  const backend = new ArchivingSessions({
    executors: (agent) => executors.get(agent.name)!,
    onTurn: async ({ agent, state, result }) => {
      await archive.recordTurn({
        sessionId: state.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        turn: result,
        run: 1,
        startedAt: result.events[0]?.at ?? new Date().toISOString(),
        finishedAt: result.events.at(-1)?.at ?? new Date().toISOString(),
      });
    },
  });
  const config = loadApiConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...options.env });
  const server = await startServer({
    agents,
    backend,
    archive,
    config,
    handleSignals: false,
    eventsPollIntervalMs: 100,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
  });
  return { url: server.address, server, archive, close: () => server.close() };
}
