/**
 * HTTP details of the NOMOS routes that differ from Stepwise's own, set inside the NOMOS plugin's encapsulation
 * context only (Stepwise's routes keep the root instance's parser and error handler):
 *
 * - An empty `application/json` body is `{}`. NOMOS's Python client sends `Content-Type: application/json` with no
 *   body on `POST /session` and `DELETE /session/{id}`; FastAPI ignores it, Fastify's default parser refuses it.
 *   Any other body goes to Fastify's own JSON parser (prototype poisoning refused, `bodyLimit` kept).
 * - Error bodies carry FastAPI's `detail` (what NOMOS's client reads) beside Stepwise's `error`:
 *   `{detail: <message>, error: {code, message, details?}}`, with the status, headers and logging of
 *   {@link errorHandler} (api/errors.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorBody, errorHandler, errorReplies } from '../errors.js';

/** Error body on NOMOS routes: FastAPI's `detail` (the message) and Stepwise's `error`. */
export const NomosErrorBody = ErrorBody.extend({ detail: z.string() });
export type NomosErrorBody = z.infer<typeof NomosErrorBody>;

/** {@link errorReplies} with NOMOS's body, for a NOMOS route's `response` map. 400 and 500 always included. */
export function nomosErrorReplies(...statuses: number[]): Record<number, typeof NomosErrorBody> {
  return Object.fromEntries(Object.keys(errorReplies(...statuses)).map((s) => [Number(s), NomosErrorBody.describe(`error (${s})`)]));
}

/**
 * Error handler of the NOMOS context: the shared {@link errorHandler} (status and body from `toHttpError`,
 * `Retry-After`, `WWW-Authenticate`, logging), with `detail` added to the body it sends. Never throws.
 */
export function nomosErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const send = reply.send.bind(reply);
  // Only this reply's `send` is wrapped (an own property of the reply object, not Fastify's prototype).
  reply.send = ((payload?: unknown) => send(withDetail(payload))) as FastifyReply['send'];
  return errorHandler(err, request, reply);
}

/** `{detail, ...payload}` for a Stepwise error body, anything else unchanged. */
function withDetail(payload: unknown): unknown {
  const parsed = ErrorBody.safeParse(payload);
  return parsed.success ? { detail: parsed.data.error.message, ...(payload as ErrorBody) } : payload;
}

/** Installs the empty-body JSON parser and {@link nomosErrorHandler} on the NOMOS plugin's own instance. */
export function setUpNomosHttp(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, {});
    return json(request, body as string, done);
  });
  app.setErrorHandler(nomosErrorHandler);
}
