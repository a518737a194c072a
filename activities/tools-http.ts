/**
 * HTTP tools declared in YAML (NOMOS `@api/...` external tools), Node.
 *
 * A tool is a URL template (`https://api.example.com/users/{user_id}`), a method, optional header and JSON body
 * templates. `{arg}` placeholders are filled from the call's arguments (URL-encoded in the URL); arguments not used by
 * a placeholder go to the query string (GET/DELETE) or the JSON body (POST/PUT/PATCH, when no `body` template is
 * given). A non-2xx answer or a network error becomes a tool error the model sees; header values (e.g. a token from
 * `${API_TOKEN}`) stay on the worker and never reach workflow history. Every request carries the call's
 * `Idempotency-Key` (see {@link httpTool}).
 */
import type { ToolDefinition } from '../src/tools.js';

/** Methods an HTTP tool may use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Default request timeout of an HTTP tool: 30 s. */
export const HTTP_TOOL_TIMEOUT_MS = 30_000;

/** Answer bodies longer than this are cut (characters), as tool results are kept small in memory anyway. */
export const HTTP_TOOL_MAX_TEXT = 20_000;

/** One HTTP tool, resolved from an `external_tools` entry. */
export interface HttpToolSpec {
  name: string;
  description: string;
  method: HttpMethod;
  /** Absolute URL with `{arg}` placeholders. */
  url: string;
  headers?: Record<string, string>;
  /** JSON body template: string values `"{arg}"` become the argument's value, `"..{arg}.."` interpolate text. */
  body?: unknown;
  /** Fixed query parameters (NOMOS `kwargs` other than `method`). */
  query?: Record<string, string | number | boolean>;
  /** JSON Schema of the arguments; default: a required string per placeholder, other properties allowed. */
  parameters?: Record<string, unknown>;
  timeoutMs?: number;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The `{name}` placeholders of a template string, in order, without repeats. */
export function placeholders(...templates: (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const t of templates) for (const m of (t ?? '').matchAll(PLACEHOLDER)) if (!out.includes(m[1]!)) out.push(m[1]!);
  return out;
}

function bodyPlaceholders(body: unknown): string[] {
  if (typeof body === 'string') return placeholders(body);
  if (Array.isArray(body)) return body.flatMap(bodyPlaceholders);
  if (body && typeof body === 'object') return Object.values(body).flatMap(bodyPlaceholders);
  return [];
}

function fill(template: string, args: Record<string, unknown>, encode: (s: string) => string = (s) => s): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => encode(args[name] === undefined ? '' : textOf(args[name])));
}

function fillBody(body: unknown, args: Record<string, unknown>): unknown {
  if (typeof body === 'string') {
    const whole = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(body);
    return whole ? (args[whole[1]!] ?? null) : fill(body, args);
  }
  if (Array.isArray(body)) return body.map((b) => fillBody(b, args));
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, args)]));
  return body;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The argument schema of an HTTP tool: `spec.parameters`, or one required string per placeholder. */
export function httpToolParameters(spec: HttpToolSpec): Record<string, unknown> {
  if (spec.parameters) return spec.parameters;
  const names = [...placeholders(spec.url, ...Object.values(spec.headers ?? {})), ...bodyPlaceholders(spec.body)];
  const unique = [...new Set(names)];
  return {
    type: 'object',
    properties: Object.fromEntries(unique.map((n) => [n, { type: 'string' }])),
    required: unique,
    additionalProperties: true,
  };
}

/**
 * The tool definition of one HTTP tool.
 *
 * Every request carries `Idempotency-Key: <sessionId>/<callId>` (`ToolContext.idempotencyKey`, src/tools.ts): the same on each
 * attempt of the `runTool` activity, so an API that honours the header (IETF draft-ietf-httpapi-idempotency-key-header)
 * applies a POST once even when a worker crashes after sending it. A header of that name in `spec.headers` replaces it.
 *
 * `execute` returns the parsed JSON answer (or its text, cut at {@link HTTP_TOOL_MAX_TEXT} characters) and throws
 * `Error("HTTP <status> ...: <body excerpt>")` for a non-2xx answer, or the network/timeout error (both become tool
 * errors the model sees).
 */
export function httpTool(spec: HttpToolSpec): ToolDefinition {
  const used = new Set([...placeholders(spec.url, ...Object.values(spec.headers ?? {})), ...bodyPlaceholders(spec.body)]);
  const hasBody = spec.method === 'POST' || spec.method === 'PUT' || spec.method === 'PATCH';
  return {
    name: spec.name,
    description: spec.description,
    parameters: httpToolParameters(spec),
    async execute(args: Record<string, unknown>, context) {
      const url = new URL(fill(spec.url, args, encodeURIComponent));
      for (const [k, v] of Object.entries(spec.query ?? {})) url.searchParams.set(k, String(v));
      const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !used.has(k)));
      if (!hasBody) for (const [k, v] of Object.entries(rest)) url.searchParams.set(k, textOf(v));
      // `Headers` names are case-insensitive: a declared `Idempotency-Key` or `Content-Type` replaces the default.
      const headers = new Headers({
        accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
        'idempotency-key': context.idempotencyKey,
      });
      for (const [k, v] of Object.entries(spec.headers ?? {})) headers.set(k, fill(v, args));
      let body: string | undefined;
      if (hasBody) {
        body = JSON.stringify(spec.body !== undefined ? fillBody(spec.body, args) : rest);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const signal = AbortSignal.any([context.signal, AbortSignal.timeout(spec.timeoutMs ?? HTTP_TOOL_TIMEOUT_MS)]);
      const res = await fetch(url, { method: spec.method, headers, body, signal });
      const text = (await res.text()).slice(0, HTTP_TOOL_MAX_TEXT);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText} from ${spec.method} ${url.origin}${url.pathname}: ${text.slice(0, 500)}`);
      if (!text) return null;
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        try {
          return JSON.parse(text);
        } catch {
          return text;
        }
      }
      return text;
    },
  };
}
