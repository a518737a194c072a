/**
 * The API's one error handler: every failure becomes `{ error: { code, message, details? } }` with a stable code
 * from `src/errors.ts` and the HTTP status of that code (`HTTP_STATUS`).
 *
 * - `StepwiseError` (thrown by backends and routes): its own code, message and details.
 * - Request validation (zod, via fastify-type-provider-zod): 400 INVALID_REQUEST, `details.issues` = one
 *   `{ path, message }` per problem, `path` prefixed with where it was found (`body.text`, `params.sessionId`).
 * - Body over `bodyLimit`: 413 PAYLOAD_TOO_LARGE. Malformed or empty JSON: 400 INVALID_REQUEST.
 * - A path parameter over {@link MAX_PARAM_LENGTH} characters: 414 URI_TOO_LONG, `details.maxParamLength`.
 * - A body in another media type than JSON: 415 UNSUPPORTED_MEDIA_TYPE, `details = { contentType, supported }`.
 * - Other 4xx errors from Fastify or plugins: INVALID_REQUEST (401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND,
 *   429: RATE_LIMITED) keeping that status. 401 replies carry `WWW-Authenticate: Bearer`.
 * - Unknown route: 404 NOT_FOUND.
 * - Anything else: 500 INTERNAL with a generic message and the request id; the error itself is only logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, HTTP_STATUS, isStepwiseError } from '../src/errors.js';

/** Longest path parameter the router accepts, in characters (session ids may be 128); longer: 414 URI_TOO_LONG. */
export const MAX_PARAM_LENGTH = 256;

/** The request body media types the API parses (Fastify's `text/plain` parser is removed in `app.ts`). */
export const SUPPORTED_MEDIA_TYPES = ['application/json'] as const;

/** Body of every error reply. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** One request validation problem as reported in `details.issues`. */
export interface ValidationIssue {
  /** Dotted path with its location first, e.g. `body.text`, `params.sessionId`, `body` for the whole body. */
  path: string;
  message: string;
}

/** An error reply: HTTP status and body. */
export interface HttpError {
  status: number;
  body: ErrorBody;
}

/** Minimal view of the errors Fastify and its plugins throw (all optional: anything may be thrown). */
interface FrameworkError {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: Array<{ instancePath?: string; message?: string }>;
  validationContext?: string;
}

/** Codes of client errors raised by Fastify or plugins (auth, rate limit) by status; others are INVALID_REQUEST. */
const CODE_OF_CLIENT_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

function body(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

function validationIssues(err: FrameworkError): ValidationIssue[] {
  const where = err.validationContext ?? 'request';
  return (err.validation ?? []).map((v) => {
    const path = (v.instancePath ?? '').split('/').filter(Boolean).join('.');
    return { path: path ? `${where}.${path}` : where, message: v.message ?? 'invalid value' };
  });
}

/**
 * Maps anything thrown while handling a request to an error reply. Never copies the message of an unknown error
 * into the reply (it may hold internals); such errors get `INTERNAL` and `details.requestId` to find the log line.
 * `contentType` (the request's `Content-Type` header) goes into a 415 reply's details.
 */
export function toHttpError(err: unknown, requestId?: string, contentType?: string): HttpError {
  if (isStepwiseError(err)) {
    return { status: HTTP_STATUS[err.code], body: body(err.code, err.message, err.details) };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as FrameworkError;
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const issues = validationIssues(e);
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return { status: 400, body: body('INVALID_REQUEST', `invalid request: ${summary}`, { issues }) };
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return { status: 413, body: body('PAYLOAD_TOO_LARGE', 'request body is too large') };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, body: body('INVALID_REQUEST', 'request body is not valid JSON') };
  }
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return { status: 414, body: body('URI_TOO_LONG', `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`, { maxParamLength: MAX_PARAM_LENGTH }) };
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const details = { contentType: contentType ?? null, supported: SUPPORTED_MEDIA_TYPES };
    return { status: 415, body: body('UNSUPPORTED_MEDIA_TYPE', `unsupported media type ${contentType ?? '(none)'}: send ${SUPPORTED_MEDIA_TYPES.join(' or ')}`, details) };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Client errors raised by Fastify or a plugin (unsupported media type, auth, rate limit...). Only Fastify's own
    // messages (`FST_*` codes) are shown; another library's message might say more than it should.
    const code: ErrorCode = CODE_OF_CLIENT_STATUS[status] ?? 'INVALID_REQUEST';
    const own = typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.message === 'string';
    return { status, body: body(code, own ? (e.message as string) : `request rejected (HTTP ${status})`) };
  }
  return {
    status: 500,
    body: body('INTERNAL', 'internal error', requestId ? { requestId } : undefined),
  };
}

/** `details.retryAfterSeconds` when a StepwiseError gave one, else 1 s (the `Retry-After` of 429 and 503 replies). */
function retryAfterSeconds(details: unknown): number {
  const value = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof value === 'number' && value > 0 ? Math.ceil(value) : 1;
}

/**
 * Codes that report a known state of the deployment or expected overload, not a bug: no archive configured (or it is
 * down), Temporal unreachable, too many requests or messages (429). Logged at warn with code and message only; a stack
 * trace would say nothing new on every request.
 */
const EXPECTED_CONDITIONS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ARCHIVE_UNAVAILABLE', 'TEMPORAL_UNAVAILABLE', 'RATE_LIMITED']);

/**
 * Fastify error handler: logs with the method and route pattern (5xx at error with the error and its stack,
 * {@link EXPECTED_CONDITIONS} at warn without, other 4xx at info), sets `Retry-After` on 429/503, and sends
 * {@link toHttpError}'s reply.
 */
export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body: payload } = toHttpError(err, request.id, request.headers['content-type']);
  if (status === 429 || status === 503) reply.header('retry-after', String(retryAfterSeconds(payload.error.details)));
  if (status === 401) reply.header('www-authenticate', 'Bearer'); // RFC 6750 §3
  // The route pattern (not the URL: no query string) says which call failed.
  const where = { method: request.method, route: request.routeOptions.url };
  if (EXPECTED_CONDITIONS.has(payload.error.code)) request.log.warn({ code: payload.error.code, message: payload.error.message, ...where }, status === 429 ? 'overloaded' : 'service unavailable');
  else if (status >= 500) request.log.error({ err, code: payload.error.code, ...where }, 'request failed');
  else request.log.info({ code: payload.error.code, message: payload.error.message }, 'request rejected');
  return reply.code(status).send(payload);
}

/** Not-found handler: 404 NOT_FOUND for any unknown method + path. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(body('NOT_FOUND', `route ${request.method} ${request.url.split('?')[0]} not found`));
}

/** Installs {@link errorHandler} and {@link notFoundHandler} on the root instance (before routes are added). */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
}

/**
 * Error reply schemas for a route's `response` map (documents them in OpenAPI), e.g. `errorReplies(400, 404)`.
 * 400 and 500 are always included: every route validates input and may fail internally.
 */
export function errorReplies(...statuses: number[]): Record<number, typeof ErrorBody> {
  const all = new Set([400, 500, ...statuses]);
  return Object.fromEntries([...all].map((s) => [s, ErrorBody.describe(`error (${s})`)]));
}
