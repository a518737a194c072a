/**
 * API test harness (after fastify/demo `test/helper.ts`): builds the real app over the real in-process backend
 * (`LocalSessions`) with scripted executors, so tests drive it with `app.inject()` and assert on what the model was
 * asked. Close the app after each test (`await h.app.close()`), which also closes the backend.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp, type BuildAppOptions } from '../../api/app.js';
import type { SessionBackend } from '../../api/sessions.js';
import { LocalSessions } from '../../cli/local-sessions.js';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { ERROR_CODES } from '../../src/errors.js';
import { testAgent } from './agents.js';
import { type ScriptEntry, type ScriptedExecutors, scriptedExecutors } from './scripted-executors.js';

export interface BuildOptions {
  /** Decisions the scripted model returns, by decision index within each session. Default: one RESPOND. */
  script?: ScriptEntry[];
  /** Agents to serve. Default: `testAgent()` only. */
  agents?: AgentSnapshot[];
  /** Use this backend instead of `LocalSessions` (e.g. an unavailable one). */
  backend?: SessionBackend;
  bodyLimitBytes?: number;
  /** Extra app options (logger...). */
  app?: Partial<BuildAppOptions>;
}

export interface Harness {
  app: FastifyInstance;
  backend: SessionBackend;
  /** The one executor set every agent uses; records each decide/tool/summarize request. */
  executors: ScriptedExecutors;
  agents: Map<string, AgentSnapshot>;
}

/** The default script: answer every first decision of a session with a plain reply. */
export const DEFAULT_SCRIPT: ScriptEntry[] = [{ action: 'RESPOND', response: 'Hello! What would you like?' }];

/** Builds the app over `LocalSessions` + scripted executors. */
export async function build(options: BuildOptions = {}): Promise<Harness> {
  const executors = scriptedExecutors(options.script ?? DEFAULT_SCRIPT);
  const backend = options.backend ?? new LocalSessions({ executors: () => executors, now: executors.now });
  const agents = new Map((options.agents ?? [testAgent()]).map((a) => [a.name, a]));
  const app = await buildApp({
    backend,
    agents,
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...options.app,
  });
  return { app, backend, executors, agents };
}

/**
 * `app.inject` with a JSON body and, when given, `Authorization: Bearer <credential>`; returns the response and its
 * parsed JSON (`undefined` for an empty body).
 */
export async function call(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  credential?: string,
): Promise<{ res: LightMyRequestResponse; body: any }> {
  const res = await app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
    ...(credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } }),
  });
  return { res, body: res.body ? JSON.parse(res.body) : undefined };
}

/**
 * Asserts the error reply shape `{ error: { code, message, details? } }` (nothing else), the code and the status.
 * @returns the `error` object for further checks.
 */
export function expectError(
  result: { res: LightMyRequestResponse; body: any },
  status: number,
  code: (typeof ERROR_CODES)[number],
): { code: string; message: string; details?: any } {
  expect(result.res.statusCode).toBe(status);
  expect(result.res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(result.body)).toEqual(['error']);
  const err = result.body.error;
  expect(err.code).toBe(code);
  expect(typeof err.message).toBe('string');
  expect(err.message.length).toBeGreaterThan(0);
  expect(Object.keys(err).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
  return err;
}

/**
 * {@link expectError} for the NOMOS routes: the body is `{ detail, error }`, FastAPI's `detail` (what NOMOS's client
 * reads) being the error's message. @returns the `error` object.
 */
export function expectNomosError(
  result: { res: LightMyRequestResponse; body: any },
  status: number,
  code: (typeof ERROR_CODES)[number],
): { code: string; message: string; details?: any } {
  expect(Object.keys(result.body ?? {}).sort()).toEqual(['detail', 'error']);
  const { detail, ...rest } = result.body;
  const err = expectError({ res: result.res, body: rest }, status, code);
  expect(detail).toBe(err.message);
  return err;
}
