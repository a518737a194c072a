/**
 * NOMOS's server API beside Stepwise's own, so NOMOS clients (its Python client, the `nomos-sdk` TypeScript client,
 * plain HTTP) move over unchanged: `POST /session?initiate=`, `POST /session/{id}/message`,
 * `GET /session/{id}/history`, `DELETE /session/{id}`, the stateless `POST /chat` and `POST /auth/token`. Every route
 * drives the same durable sessions as `/sessions` (through `app.backend`); shapes in `./nomos-shapes.ts`.
 *
 * A NOMOS server serves one agent. Here the agent is `?agent=<name>` on the session-creating routes, else the plugin's
 * `agentId` option (`STEPWISE_NOMOS_AGENT`), else the only agent loaded; with several and none named: 400.
 * Errors carry FastAPI's `detail` beside Stepwise's `error` (`./nomos-http.ts`, which also reads an empty JSON body as
 * `{}`), with NOMOS's status codes (404 for an unknown or deleted session, except on `/chat`, which seeds a new session
 * from the client's `session_data` instead: `./nomos-seed.ts`). After END a session goes on, after DELETE it is 404
 * (`./nomos-continue.ts`). `session_data` and history are NOMOS memory (`./nomos-memory.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { AgentSnapshot } from '../../src/config/agent.js';
import type { TurnResult } from '../../src/engine/types.js';
import { CallerError, isStepwiseError } from '../../src/errors.js';
import { FIRST_MESSAGE_ID, SessionId, type SessionInfo } from '../../workflows/shared.js';
import { callerSessionInfo, type UserBindingConfig } from '../auth/user-binding.js';
import { hasScope } from '../plugins/auth.js';
import { allTurns, sessionState } from '../session-reads.js';
import { chainTurns, continuationInfo, nomosChain } from './nomos-continue.js';
import { nomosErrorReplies as errorReplies, setUpNomosHttp } from './nomos-http.js';
import { eventsOf, nomosMemoryOf, stateItemsOf } from './nomos-memory.js';
import {
  decisionOf,
  NomosChatRequest,
  NomosChatResponse,
  NomosHistoryResponse,
  NomosMessageBody,
  type NomosSessionData,
  NomosSessionResponse,
  NomosTokenResponse,
  toolOutputOf,
} from './nomos-shapes.js';
import { seedFromNomos } from './nomos-seed.js';

/** Settings of `POST /auth/token`: off (404) unless a secret is given. */
export interface NomosTokenOptions {
  /** HS256 signing secret (at least 32 bytes), the one the API's JWT auth verifies with. */
  secret: string;
  /** Token lifetime in seconds. Default 3,600. */
  ttlSeconds?: number;
  /** `iss` and `aud` claims, when the verifier checks them. */
  issuer?: string;
  audience?: string;
}

export interface NomosRoutesOptions {
  /** Agent of sessions created without `?agent=`. Default: the only agent loaded. */
  agentId?: string;
  /** `POST /auth/token`; without it the route answers 404 NOT_FOUND. */
  token?: NomosTokenOptions;
}

/**
 * Options from the environment: `STEPWISE_NOMOS_AGENT` (default agent), `STEPWISE_NOMOS_TOKEN_SECRET` (turns
 * `POST /auth/token` on; at least 32 characters), `STEPWISE_NOMOS_TOKEN_TTL` (seconds), `STEPWISE_NOMOS_TOKEN_ISSUER`,
 * `STEPWISE_NOMOS_TOKEN_AUDIENCE`. @throws CallerError INVALID_CONFIG for a short secret or a bad TTL.
 */
export function nomosOptionsFromEnv(env: NodeJS.ProcessEnv): NomosRoutesOptions {
  const secret = env.STEPWISE_NOMOS_TOKEN_SECRET;
  if (secret !== undefined && secret.length < 32) throw new CallerError('INVALID_CONFIG', 'STEPWISE_NOMOS_TOKEN_SECRET must be at least 32 characters');
  const ttl = env.STEPWISE_NOMOS_TOKEN_TTL === undefined ? undefined : Number(env.STEPWISE_NOMOS_TOKEN_TTL);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) throw new CallerError('INVALID_CONFIG', 'STEPWISE_NOMOS_TOKEN_TTL must be a positive number of seconds');
  return {
    ...(env.STEPWISE_NOMOS_AGENT ? { agentId: env.STEPWISE_NOMOS_AGENT } : {}),
    ...(secret
      ? {
          token: {
            secret,
            ...(ttl ? { ttlSeconds: ttl } : {}),
            ...(env.STEPWISE_NOMOS_TOKEN_ISSUER ? { issuer: env.STEPWISE_NOMOS_TOKEN_ISSUER } : {}),
            ...(env.STEPWISE_NOMOS_TOKEN_AUDIENCE ? { audience: env.STEPWISE_NOMOS_TOKEN_AUDIENCE } : {}),
          },
        }
      : {}),
  };
}

/** Scopes of a token from `POST /auth/token`: a client's, never `admin`. */
export const NOMOS_TOKEN_SCOPES = ['sessions:read', 'sessions:write'] as const;

const AgentQuery = z.object({
  /** Agent name (`GET /agents`); default: see the module comment. */
  agent: z.string().min(1).max(200).optional(),
});
const CreateQuery = AgentQuery.extend({
  /** `true`: the agent speaks first; its opening decision is the reply's `message`. */
  initiate: z.enum(['true', 'false']).default('false'),
});
const IdParams = z.object({ id: SessionId });
/** User binding (`../auth/user-binding.ts`): the session is `:id`. */
const BY_ID: UserBindingConfig = { sessionParam: 'id' };
const TokenBody = z.record(z.string(), z.unknown());

/** The agent for a new NOMOS session. @throws AGENT_NOT_FOUND, INVALID_REQUEST (several agents, none named). */
function agentFor(app: FastifyInstance, requested: string | undefined, configured: string | undefined): AgentSnapshot {
  const name = requested ?? configured ?? (app.agents.size === 1 ? [...app.agents.keys()][0] : undefined);
  if (name === undefined) {
    throw new CallerError('INVALID_REQUEST', `${app.agents.size} agents are loaded: name one with ?agent= (or set STEPWISE_NOMOS_AGENT)`);
  }
  const agent = app.agents.get(name);
  if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${name} not found`);
  return agent;
}

/**
 * NOMOS memory of a durable session after `current` (its newest turn, when known): every turn still known (archive,
 * else the live run's newest). @throws SESSION_NOT_FOUND, TEMPORAL_UNAVAILABLE.
 */
async function nomosMemory(app: FastifyInstance, sessionId: string, current?: TurnResult) {
  const [state, turns] = await Promise.all([sessionState(app, sessionId), allTurns(app, sessionId)]);
  const startStepId = app.agents.get(state.agentName)?.startStepId ?? state.stepId;
  return nomosMemoryOf(state.agentName, startStepId, turns, current);
}

/**
 * Sends `text` to NOMOS session `id`: to its newest durable session, or, when that one ended by END or idle timeout,
 * to a continuation seeded from the chain's memory (`./nomos-continue.ts`). @throws SESSION_NOT_FOUND (unknown or
 * deleted), SESSION_ENDED (no continuation possible), the backend's send and start errors.
 */
async function sendNomos(app: FastifyInstance, id: string, text: string): Promise<TurnResult> {
  const chain = await nomosChain(app, id);
  const newest = chain.ids[chain.ids.length - 1]!;
  if (!chain.endReason || !chain.nextId) return app.backend.send(newest, { messageId: randomUUID(), text });
  const agent = app.agents.get(chain.view.agentName);
  if (!agent) throw new CallerError('AGENT_NOT_FOUND', `agent ${chain.view.agentName} of session ${id} is no longer loaded`);
  const turns = (await Promise.all(chain.ids.map((sid) => allTurns(app, sid)))).flat();
  const memory = nomosMemoryOf(agent.name, agent.startStepId, turns);
  const seed = seedFromNomos(agent, { current_step_id: chain.view.stepId, history: stateItemsOf(memory.session) });
  return app.backend.startWithMessage(agent, chain.nextId, { messageId: FIRST_MESSAGE_ID, text }, continuationInfo(chain.view), seed);
}

/** OpenAPI description of `POST /chat`: what a client's `session_data` does. */
const CHAT_DESCRIPTION =
  'Without `session_data` a new durable session starts (with `user_input` as its first message, or an opening turn). ' +
  'With it, `session_data.session_id` names the durable session: when Stepwise has it, that session\'s state (step, ' +
  'flow, memory) wins and the rest of `session_data` is informational. When Stepwise does not have it (another NOMOS ' +
  'server\'s session, an expired one, or no `session_id`) or it has ended (END, idle timeout, DELETE), a NEW durable ' +
  'session is seeded ' +
  'from `session_data` and runs `user_input`: `current_step_id` becomes its step (unknown: 400 naming it; absent: the ' +
  'start step); `history` items become session memory (`user` messages, the agent\'s replies, `tool` results as ' +
  'NOMOS words them, `error`/`fallback` as notes, summaries as summaries); `flow_state` makes its flow active (unknown ' +
  'flow: 400) with `flow_memory_context` as flow memory. Not seeded: step identifiers, `end` markers, `flow_context`, ' +
  'timestamps and decisions. Memory keeps the newest items within its limits (`max_items`, default 200, and 256 KiB ' +
  'of text; items clipped to 4,000 characters; the newest 5 summaries; the whole seed within 512 KiB of JSON). ' +
  "The new session keeps the client's id when it is a valid Stepwise session id that no session has ever used, " +
  'else gets a new one (returned in session_data); ' +
  "it belongs to the caller's user. The reply's `history` lists the turns Stepwise ran (the seeded context lives on " +
  'as session memory). Another user\'s session is 404 for a caller bound to a user.';

/**
 * Where a client-held session id stands: `live` (the backend has the session and it has not ended: continue it),
 * `free` (a valid id no session has used: seed a new session under it) or `taken` (not a valid session id, no id, an
 * ended session, or one the backend no longer has but the archive still knows: seed a new session under a new id). Ownership is checked before, by the
 * route's `sessionOrNewBody` binding. @throws TEMPORAL_UNAVAILABLE and other backend failures.
 */
async function clientSessionStanding(app: FastifyInstance, sessionId: string | undefined): Promise<'live' | 'free' | 'taken'> {
  if (sessionId === undefined || !SessionId.safeParse(sessionId).success) return 'taken';
  try {
    // An ended session takes no more messages; the client's state goes on in a new session, as NOMOS would go on.
    return (await app.backend.state(sessionId)).status === 'ended' ? 'taken' : 'live';
  } catch (err) {
    if (!(isStepwiseError(err) && err.code === 'SESSION_NOT_FOUND')) throw err;
    return app.archive && (await app.archive.getSession(sessionId)) ? 'taken' : 'free';
  }
}

/**
 * Starts a session of `agent` for `info`'s user, seeded from the client's `session_data` (`./nomos-seed.ts`), with
 * `input` as its first message: under `preferredId` when given, else (or when that id was taken meanwhile) under a new
 * one. @throws INVALID_REQUEST (step or flow unknown to the agent), the backend's start errors.
 */
async function startSeeded(
  app: FastifyInstance,
  agent: AgentSnapshot,
  info: SessionInfo,
  data: NomosSessionData,
  input: string,
  preferredId: string | undefined,
): Promise<{ sessionId: string; result: TurnResult }> {
  const seed = seedFromNomos(agent, data);
  const start = (sessionId: string) => app.backend.startWithMessage(agent, sessionId, { messageId: FIRST_MESSAGE_ID, text: input }, info, seed);
  if (preferredId !== undefined) {
    try {
      return { sessionId: preferredId, result: await start(preferredId) };
    } catch (err) {
      // Taken between the check and the start (a closed workflow Temporal still keeps, a concurrent request).
      if (!(isStepwiseError(err) && err.code === 'SESSION_EXISTS')) throw err;
    }
  }
  const sessionId = randomUUID();
  return { sessionId, result: await start(sessionId) };
}

const nomosRoutes: FastifyPluginAsyncZod<NomosRoutesOptions> = async (app, opts) => {
  // This plugin is not wrapped in fastify-plugin: the parser and error handler stay in its own context.
  setUpNomosHttp(app);
  app.post(
    '/session',
    {
      schema: {
        tags: ['nomos'],
        summary: 'NOMOS: create a session (initiate=true: the agent speaks first)',
        querystring: CreateQuery,
        response: { 200: NomosSessionResponse, ...errorReplies(404, 409, 503) },
      },
    },
    async (request) => {
      const agent = agentFor(app, request.query.agent, opts.agentId);
      const sessionId = randomUUID();
      const info = callerSessionInfo(request);
      if (request.query.initiate === 'true') {
        const opening = await app.backend.startWithOpening(agent, sessionId, info);
        return { session_id: sessionId, message: decisionOf(opening) };
      }
      await app.backend.start(agent, sessionId, info);
      return { session_id: sessionId, message: { status: 'Session created successfully' } };
    },
  );

  app.post(
    '/session/:id/message',
    {
      config: { binding: BY_ID },
      schema: {
        tags: ['nomos'],
        summary: "NOMOS: send a message; the reply's `message` is the agent's decision",
        params: IdParams,
        body: NomosMessageBody,
        response: { 200: NomosSessionResponse, ...errorReplies(404, 409, 413, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      return { session_id: id, message: decisionOf(await sendNomos(app, id, request.body.content)) };
    },
  );

  app.get(
    '/session/:id/history',
    {
      config: { binding: BY_ID },
      schema: {
        tags: ['nomos'],
        summary: "NOMOS: the session memory's events (user, agent replies, tools, end); an open flow's are not there",
        params: IdParams,
        response: { 200: NomosHistoryResponse, ...errorReplies(404, 503) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { chain, turns } = await chainTurns(app, id);
      const state = chain?.view ?? (await sessionState(app, id));
      const startStepId = app.agents.get(state.agentName)?.startStepId ?? state.stepId;
      // Session memory only: events inside a flow that is still open live in flow memory (as in NOMOS).
      const current = chain && !chain.endReason ? { stepId: chain.view.stepId, flowId: chain.view.flowId } : undefined;
      const memory = nomosMemoryOf(state.agentName, startStepId, turns, current);
      return { session_id: id, history: eventsOf(memory.session) };
    },
  );

  app.delete(
    '/session/:id',
    {
      config: { binding: BY_ID },
      schema: {
        tags: ['nomos'],
        summary: 'NOMOS: delete a session (later NOMOS calls: 404; it stays readable on /sessions, as every Stepwise session does)',
        params: IdParams,
        response: { 200: z.object({ message: z.string() }), ...errorReplies(404, 503) },
      },
    },
    async (request) => {
      const chain = await nomosChain(app, request.params.id);
      const agent = app.agents.get(chain.view.agentName);
      if (chain.endReason && chain.nextId && agent) {
        // Ended by END: a continuation ended by DELETE marks the chain deleted (nomos-continue.ts).
        await app.backend.start(agent, chain.nextId, continuationInfo(chain.view));
        await app.backend.end(chain.nextId);
      } else await app.backend.end(chain.ids[chain.ids.length - 1]!);
      return { message: 'Session ended successfully' };
    },
  );

  app.post(
    '/chat',
    {
      config: { binding: { sessionOrNewBody: 'session_data.session_id' } },
      schema: {
        tags: ['nomos'],
        summary: 'NOMOS: stateless chat — the client holds session_data and sends it back with the next input',
        description: CHAT_DESCRIPTION,
        querystring: AgentQuery.extend({ verbose: z.enum(['true', 'false']).optional() }),
        body: NomosChatRequest,
        response: { 200: NomosChatResponse, ...errorReplies(404, 409, 413, 503) },
      },
    },
    async (request) => {
      const { user_input: input, session_data: data } = request.body;
      let sessionId: string;
      let result: TurnResult;
      if (!data) {
        const agent = agentFor(app, request.query.agent, opts.agentId);
        sessionId = randomUUID();
        result = input
          ? await app.backend.startWithMessage(agent, sessionId, { messageId: FIRST_MESSAGE_ID, text: input }, callerSessionInfo(request))
          : await app.backend.startWithOpening(agent, sessionId, callerSessionInfo(request));
      } else {
        if (!input) throw new CallerError('INVALID_REQUEST', 'user_input is required with session_data (only a new session can open without one)');
        const standing = await clientSessionStanding(app, data.session_id);
        if (standing === 'live') {
          sessionId = data.session_id!;
          result = await app.backend.send(sessionId, { messageId: randomUUID(), text: input });
        } else {
          const agent = agentFor(app, request.query.agent, opts.agentId);
          const preferredId = standing === 'free' ? data.session_id : undefined;
          ({ sessionId, result } = await startSeeded(app, agent, callerSessionInfo(request), data, input, preferredId));
        }
      }
      const { session, flow } = await nomosMemory(app, sessionId, result);
      return {
        response: decisionOf(result),
        tool_output: toolOutputOf(result),
        session_data: {
          session_id: sessionId,
          current_step_id: result.stepId,
          history: stateItemsOf(session),
          flow_state: flow
            ? {
                flow_id: flow.flowId,
                flow_context: { flow_id: flow.flowId, entry_step: flow.entryStep, previous_context: null, metadata: {} },
                flow_memory_context: stateItemsOf(flow.items),
              }
            : null,
        },
      };
    },
  );

  app.post(
    '/auth/token',
    {
      schema: {
        tags: ['nomos'],
        summary: 'NOMOS: issue a bearer JWT (sessions:read, sessions:write) — 404 unless configured',
        description:
          'Off unless the API is given a token secret (`STEPWISE_NOMOS_TOKEN_SECRET`). The body is NOMOS\'s free-form ' +
          'payload; `sub` (or `user_id`/`userId`) becomes the token subject, and the API binds a token with a subject ' +
          "to that user. A caller bound to a user always gets its own user as subject. Scopes: sessions:read and " +
          "sessions:write, never more than the caller's, never `admin`. Behind the API's auth like every route (needs " +
          'sessions:write), so only authenticated callers get tokens when auth is on.',
        body: TokenBody,
        response: { 200: NomosTokenResponse, ...errorReplies(404) },
      },
    },
    async (request) => {
      const token = opts.token;
      if (!token) throw new CallerError('NOT_FOUND', 'the token endpoint is off: set STEPWISE_NOMOS_TOKEN_SECRET to enable it');
      const payload = request.body;
      // A caller bound to a user gets tokens for that user only; scopes never exceed the caller's.
      const subject =
        request.principal?.userId ??
        [payload.sub, payload.user_id, payload.userId].find((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128);
      const caller = request.principal;
      const scopes = NOMOS_TOKEN_SCOPES.filter((s) => !caller || hasScope(caller, s));
      let jwt = new SignJWT({ scope: scopes.join(' ') })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(`${token.ttlSeconds ?? 3_600}s`);
      if (subject) jwt = jwt.setSubject(subject);
      if (token.issuer) jwt = jwt.setIssuer(token.issuer);
      if (token.audience) jwt = jwt.setAudience(token.audience);
      return { access_token: await jwt.sign(new TextEncoder().encode(token.secret)), token_type: 'bearer' as const };
    },
  );
};

export default nomosRoutes;
