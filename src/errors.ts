/**
 * The one list of Stepwise error codes, and a base error carrying one.
 *
 * Errors are split by who is to blame (after openai-agents-js `src/errors.ts`):
 * - {@link ConfigError}: the agent's YAML or tool modules (fix the config);
 * - {@link CallerError}: the HTTP caller or workflow message sender (fix the request);
 * - {@link ModelBehaviorError}: the LLM returned something unusable (re-asked by the engine);
 * - {@link SystemError}: infrastructure (Temporal, PostgreSQL, a provider outage).
 *
 * Code is pure (no Node imports) so workflows may use it. Across the workflow sandbox prefer
 * {@link isStepwiseError} (a name/shape guard) over `instanceof`.
 */

/** Every stable error code. docs/rest-api.md "Error codes" documents each one; a test fails if one is missing. */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'INVALID_CONFIG',
  'AGENT_NOT_FOUND',
  'SESSION_NOT_FOUND',
  'SESSION_EXISTS',
  'SESSION_ENDED',
  'MESSAGE_ALREADY_ANSWERED',
  'APPROVAL_NOT_FOUND',
  'APPROVAL_ALREADY_DECIDED',
  'REWIND_NOT_SUPPORTED',
  'TURN_NOT_FOUND',
  'TURN_IN_FLIGHT',
  'REWIND_IN_PROGRESS',
  'TURN_STATE_UNAVAILABLE',
  'TURN_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'PAYLOAD_TOO_LARGE',
  'URI_TOO_LONG',
  'UNSUPPORTED_MEDIA_TYPE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_FILE_TYPE',
  'FILES_NOT_SUPPORTED',
  'FILE_STORAGE_UNAVAILABLE',
  'RATE_LIMITED',
  'TEMPORAL_UNAVAILABLE',
  'ARCHIVE_UNAVAILABLE',
  'MODEL_OUTPUT_INVALID',
  'MODEL_REQUEST_FAILED',
  'TOOL_NOT_FOUND',
  'SCRIPT_EXHAUSTED',
  'INVALID_STATE',
  'NOT_FOUND',
  'CODEC_KEY_UNKNOWN',
  'CODEC_DECRYPT_FAILED',
  'SOURCE_CHANGED',
  'INTERNAL',
] as const;

/** A stable error code, one of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each code, used by the API's single error handler. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_CONFIG: 400,
  AGENT_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  SESSION_EXISTS: 409,
  SESSION_ENDED: 409,
  MESSAGE_ALREADY_ANSWERED: 409,
  APPROVAL_NOT_FOUND: 404,
  APPROVAL_ALREADY_DECIDED: 409,
  REWIND_NOT_SUPPORTED: 409,
  TURN_NOT_FOUND: 404,
  TURN_IN_FLIGHT: 409,
  REWIND_IN_PROGRESS: 409,
  TURN_STATE_UNAVAILABLE: 409,
  TURN_FAILED: 500,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_FILE_TYPE: 415,
  FILES_NOT_SUPPORTED: 400,
  FILE_STORAGE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  TEMPORAL_UNAVAILABLE: 503,
  ARCHIVE_UNAVAILABLE: 503,
  MODEL_OUTPUT_INVALID: 502,
  MODEL_REQUEST_FAILED: 502,
  TOOL_NOT_FOUND: 500,
  SCRIPT_EXHAUSTED: 500,
  INVALID_STATE: 500,
  NOT_FOUND: 404,
  CODEC_KEY_UNKNOWN: 400,
  CODEC_DECRYPT_FAILED: 400,
  SOURCE_CHANGED: 409,
  INTERNAL: 500,
};

/** Base class: a message, a stable {@link ErrorCode} and optional JSON-safe details. */
export class StepwiseError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'StepwiseError';
    this.code = code;
    this.details = details;
  }
}

/** One problem found in an agent config, located by file, 1-based line and key path. */
export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

/** Formats an issue as `file:line:col path: message` (the form `stepwise validate` prints). */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}${issue.column ? `:${issue.column}` : ''}` : issue.file;
  const path = issue.path ? ` ${issue.path}` : '';
  return `${where}${path}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.message}`;
}

/** The agent config (YAML, tool modules) is wrong. Not retryable. */
export class ConfigError extends StepwiseError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], message?: string) {
    super('INVALID_CONFIG', message ?? issues.map(formatConfigIssue).join('\n'), { issues });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** The caller sent something wrong (bad body, unknown session...). Not retryable as is. */
export class CallerError extends StepwiseError {
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(code, message, details);
    this.name = 'CallerError';
  }
}

/** The model produced output that is not a usable decision. The engine re-asks. */
export class ModelBehaviorError extends StepwiseError {
  constructor(message: string, details?: unknown) {
    super('MODEL_OUTPUT_INVALID', message, details);
    this.name = 'ModelBehaviorError';
  }
}

/** Infrastructure failed (Temporal, PostgreSQL, provider outage). Usually retryable. */
export class SystemError extends StepwiseError {
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(code, message, details);
    this.name = 'SystemError';
  }
}

/**
 * A message refused for now, to be sent again with the same message id: RATE_LIMITED (HTTP 429, `Retry-After: 1`),
 * `details` merged with `{retryAfterSeconds: 1}`. Used for a session's full queue (`QUEUE_FULL`) wherever it is seen.
 */
export function sendAgainLater(message: string, details: Record<string, unknown> = {}): StepwiseError {
  return new StepwiseError('RATE_LIMITED', `${message} (with the same messageId)`, { ...details, retryAfterSeconds: 1 });
}

/** Shape guard that works across module copies and the workflow sandbox (no `instanceof`). */
export function isStepwiseError(err: unknown): err is StepwiseError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (ERROR_CODES as readonly string[]).includes((err as { code: string }).code) &&
    err instanceof Error
  );
}
