/**
 * Maps model-provider failures to Temporal `ApplicationFailure`s, so Temporal (not the vendor SDK) decides retries.
 *
 * Both vendor SDKs (openai 6, @anthropic-ai/sdk 1.x) throw `APIError` subclasses carrying `.status` and `.headers`;
 * connection errors and timeouts carry neither. Messages and details never include API keys or auth headers.
 */
import { ApplicationFailure } from '@temporalio/common';

/** Provider name as it appears in messages (`openai`, `anthropic`, `openai-compatible`, `scripted`). */
export type ProviderName = string;

/** Longest `nextRetryDelay` taken from a `retry-after` header: 10 minutes (longer waits fall back to this cap). */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** Statuses retried by Temporal: request timeout, conflict, rate limit (and every 5xx, checked separately). */
const RETRYABLE_STATUSES = new Set([408, 409, 429]);

/** Options of {@link toActivityFailure}. */
export interface ToActivityFailureOptions {
  /** Strings redacted from any message (the API key in use). */
  secrets?: string[];
  /** Clock for HTTP-date `retry-after` values (ms since epoch). Default `Date.now()`. */
  nowMs?: number;
}

/**
 * Converts anything a provider call threw into an `ApplicationFailure` (type `MODEL_REQUEST_FAILED` unless it already
 * is an `ApplicationFailure`, which passes through unchanged):
 * - HTTP 408/409/429/5xx, connection errors, timeouts, unknown errors: retryable; `nextRetryDelay` from the
 *   `retry-after-ms` header (milliseconds) or `retry-after` (seconds or HTTP date), capped at {@link MAX_RETRY_AFTER_MS};
 * - any other HTTP status (400/401/403/404/422...): non-retryable, with the provider's error message and the status.
 *
 * Details carry `{provider, status?, requestId?}` only. Keys (`options.secrets`, and anything shaped like `sk-...`)
 * are redacted from the message.
 */
export function toActivityFailure(err: unknown, provider: ProviderName, options: ToActivityFailureOptions = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const status = httpStatus(err);
  const headers = (err as { headers?: unknown } | null)?.headers;
  const requestId = header(headers, 'x-request-id') ?? header(headers, 'request-id');
  const providerMessage = redact(providerErrorMessage(err), options.secrets ?? []);
  const details = [{ provider, ...(status !== undefined ? { status } : {}), ...(requestId ? { requestId } : {}) }];

  if (status === undefined) {
    const kind = errorName(err);
    const what = /timeout/i.test(kind) ? 'timed out' : /abort/i.test(kind) ? 'was aborted' : 'failed to connect';
    return ApplicationFailure.create({
      type: 'MODEL_REQUEST_FAILED',
      message: `${provider} request ${what}: ${providerMessage}`,
      nonRetryable: false,
      details,
    });
  }
  const retryable = RETRYABLE_STATUSES.has(status) || status >= 500;
  const message = `${provider} request failed with HTTP ${status}: ${providerMessage}`;
  if (!retryable) {
    return ApplicationFailure.create({ type: 'MODEL_REQUEST_FAILED', message, nonRetryable: true, details });
  }
  const delayMs = retryAfterMs(headers, options.nowMs ?? Date.now());
  return ApplicationFailure.create({
    type: 'MODEL_REQUEST_FAILED',
    message,
    nonRetryable: false,
    details,
    ...(delayMs !== undefined ? { nextRetryDelay: delayMs } : {}),
  });
}

/**
 * The wait a response asks for, in milliseconds: `retry-after-ms` (a number of ms, OpenAI/Anthropic extension)
 * first, then `retry-after` (delta-seconds or an HTTP date, RFC 9110 §10.2.3). Capped at {@link MAX_RETRY_AFTER_MS};
 * `undefined` when absent or unparseable.
 */
export function retryAfterMs(headers: unknown, nowMs: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return clampDelay(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return clampDelay(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clampDelay(date - nowMs);
}

/** A non-retryable `MODEL_OUTPUT_INVALID` failure: the model answered, but not with a usable decision. */
export function modelOutputInvalid(provider: ProviderName, problem: string, output?: string): ApplicationFailure {
  const shown = output === undefined ? '' : `: ${excerpt(output)}`;
  return ApplicationFailure.create({
    type: 'MODEL_OUTPUT_INVALID',
    message: `${provider} output is not a usable decision (${problem})${shown}`,
    nonRetryable: true,
    details: [{ provider, problem }],
  });
}

/** A short, single-line, JSON-quoted excerpt of model output for error messages (first 200 characters). */
export function excerpt(text: string, maxChars = 200): string {
  const clipped = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(clipped);
}

/** Removes each secret, and anything shaped like an OpenAI/Anthropic key, from `text`. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/\b(sk|sk-ant|sk-proj)-[A-Za-z0-9_*.-]{6,}/g, '[redacted]');
}

function clampDelay(ms: number): number {
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : undefined;
}

function errorName(err: unknown): string {
  if (err instanceof Error) return `${err.name} ${err.constructor?.name ?? ''}`;
  return '';
}

/** The provider's own error text: OpenAI `error.message`, Anthropic `error.error.message`, else the JS message. */
function providerErrorMessage(err: unknown): string {
  const e = err as { apiMessage?: unknown; error?: { message?: unknown; error?: { message?: unknown } }; message?: unknown } | null;
  const candidates = [e?.apiMessage, e?.error?.message, e?.error?.error?.message];
  for (const c of candidates) if (typeof c === 'string' && c) return c;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error && cause.message && cause.message !== err.message ? ` (${cause.message})` : '';
    return `${err.message}${causeText}`;
  }
  return String(err);
}

/** Reads a header from a fetch `Headers` or a plain record, case-insensitively. */
function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name && typeof v === 'string') return v;
  }
  return undefined;
}
