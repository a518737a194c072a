/**
 * The flow builder's routes (the web app's Agent page, `docs/flow-builder.md`):
 * - `GET /agents/:agentId/graph`: the agent's map (`src/config/graph.ts`);
 * - `POST /agents/validate {yaml, agentId?}`: the checks of `stepwise validate` on a YAML text, always 200 with
 *   `{ok, errors, warnings}` (`src/config/validate-source.ts`: no code loaded, no environment read, files confined to
 *   the agent's directory); scope `sessions:read` (it changes nothing);
 * - only with {@link AgentSourceStore} (`stepwise dev`): `GET /agents/:agentId/source` (the YAML file's text and its
 *   hash) and `PUT /agents/:agentId/source {yaml, baseHash}`, which writes the file, reloads the agent (new sessions
 *   get the new snapshot; running sessions keep the one pinned in their workflow input) and answers 409
 *   SOURCE_CHANGED when the file changed since `baseHash` was read. Elsewhere these two routes do not exist (404
 *   NOT_FOUND): a server's files are not the API caller's to read (they may hold literal header values the snapshot
 *   redacts) or write.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { AgentGraph, agentGraph } from '../../src/config/graph.js';
import { declaredAgentId, validateAgentSource } from '../../runtime/agents/validate-source.js';
import { CallerError, ConfigError, isStepwiseError } from '../../src/errors.js';
import { errorReplies } from '../errors.js';
import { AgentParams } from './agents.js';
import { AgentSource, SaveSourceBody, ValidateBody, ValidateReply, type ValidationIssue } from '../../src/builder/shapes.js';

export { AgentSource, SaveSourceBody, ValidateBody, ValidateReply, ValidationIssue };

/** Where `stepwise dev` keeps its agents' files, and how it reloads one. */
export interface AgentSourceStore {
  /** Absolute path of the YAML file a loaded agent came from; undefined for an unknown agent. */
  fileOf(agentId: string): string | undefined;
  /**
   * Loads the agent's file again and makes the result the agent new sessions get (and the worker's tools).
   * @throws ConfigError (not retryable) when the file does not load; the previous agent stays in place.
   */
  reload(agentId: string): Promise<AgentSnapshot>;
}

export interface AgentBuilderRoutesOptions {
  /** The agents' files (`stepwise dev`); absent: no source routes. */
  sources?: AgentSourceStore;
}

/** sha256 hex of a text's UTF-8 bytes. */
export function sourceHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const toIssue = (i: { path: string; line?: number; column?: number; message: string }): ValidationIssue => ({
  path: i.path,
  ...(i.line === undefined ? {} : { line: i.line }),
  ...(i.column === undefined ? {} : { column: i.column }),
  message: i.message,
});

const agentBuilderRoutes: FastifyPluginAsyncZod<AgentBuilderRoutesOptions> = async (app, opts) => {
  const sources = opts.sources;
  const agentOr404 = (agentId: string) => {
    const agent = app.agents.get(agentId);
    if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} not found`);
    return agent;
  };

  app.get(
    '/agents/:agentId/graph',
    {
      schema: {
        tags: ['agents'],
        summary: "The agent's map: steps, flows and tools as nodes; routes and tool attachments as edges",
        params: AgentParams,
        response: { 200: AgentGraph, ...errorReplies(404) },
      },
    },
    async (request) => agentGraph(agentOr404(request.params.agentId)),
  );

  app.post(
    '/agents/validate',
    {
      config: { scope: 'sessions:read' },
      schema: {
        tags: ['agents'],
        summary: 'Check agent YAML as `stepwise validate` does (always 200: the verdict is in the body)',
        body: ValidateBody,
        response: { 200: ValidateReply, ...errorReplies() },
      },
    },
    async (request) => {
      const { yaml, agentId } = request.body;
      const id = agentId ?? declaredAgentId(yaml);
      const agent = id === undefined ? undefined : app.agents.get(id);
      const file = agent && sources?.fileOf(agent.name);
      const result = validateAgentSource(yaml, {
        ...(agent ? { tools: agent.tools } : {}),
        ...(file ? { baseDir: dirname(file) } : {}),
      });
      return { ok: result.ok, errors: result.errors.map(toIssue), warnings: result.warnings.map(toIssue) };
    },
  );

  if (!sources) return;

  const fileOr404 = (agentId: string) => {
    agentOr404(agentId);
    const file = sources.fileOf(agentId);
    if (!file) throw new CallerError('AGENT_NOT_FOUND', `agent ${agentId} has no source file`);
    return file;
  };
  // One save at a time: a second save waits and then compares its baseHash with what the first wrote.
  let saving: Promise<unknown> = Promise.resolve();

  app.get(
    '/agents/:agentId/source',
    {
      schema: {
        tags: ['agents'],
        summary: '`stepwise dev` only: the YAML file of an agent, with its hash for a later save',
        params: AgentParams,
        response: { 200: AgentSource, ...errorReplies(404) },
      },
    },
    async (request) => {
      const { agentId } = request.params;
      const file = fileOr404(agentId);
      const yaml = await readFile(file, 'utf8');
      return { agentId, file: relative(process.cwd(), file), yaml, hash: sourceHash(yaml), configHash: agentOr404(agentId).configHash };
    },
  );

  app.put(
    '/agents/:agentId/source',
    {
      schema: {
        tags: ['agents'],
        summary: '`stepwise dev` only: write the YAML file of an agent and reload it (409 when the file changed since baseHash)',
        params: AgentParams,
        body: SaveSourceBody,
        response: { 200: AgentSource, ...errorReplies(404, 409) },
      },
    },
    async (request) => {
      const { agentId } = request.params;
      const { yaml, baseHash } = request.body;
      const file = fileOr404(agentId);
      const run = saving.then(async () => {
        const current = await readFile(file, 'utf8');
        if (sourceHash(current) !== baseHash) {
          throw new CallerError('SOURCE_CHANGED', `${relative(process.cwd(), file)} changed since it was read: reload it and apply the edits again`, {
            hash: sourceHash(current),
          });
        }
        if (declaredAgentId(yaml) !== agentId) {
          throw new CallerError('INVALID_REQUEST', `the YAML must keep the agent's name (${agentId}): renaming an agent is done in its file`);
        }
        await writeFile(file, yaml, 'utf8');
        try {
          const snapshot = await sources.reload(agentId);
          return { agentId, file: relative(process.cwd(), file), yaml, hash: sourceHash(yaml), configHash: snapshot.configHash };
        } catch (err) {
          await writeFile(file, current, 'utf8'); // the file keeps what the running agent was loaded from
          if (err instanceof ConfigError || (isStepwiseError(err) && err.code === 'INVALID_CONFIG')) {
            throw new CallerError('INVALID_CONFIG', 'the YAML does not load; the file is unchanged', { issues: (err as ConfigError).issues?.map(toIssue) ?? [] });
          }
          throw err;
        }
      });
      saving = run.catch(() => undefined);
      return run;
    },
  );
};

export default agentBuilderRoutes;
