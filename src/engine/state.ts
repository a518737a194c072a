/**
 * Loading carried session state (continue-as-new input, archived snapshots): parse -> version check -> schema parse.
 *
 * Version history (keep a fixture per released version under `test/fixtures/state/`):
 * - 1: first release.
 *
 * Pure.
 */
import { z } from 'zod';
import { SESSION_STATE_VERSION, SessionState } from './types.js';

/** Thrown when carried state cannot be used. Not retryable: the same bytes will fail the same way. */
export class StateVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateVersionError';
  }
}

/**
 * Reads carried session state of any known version and returns the current version.
 *
 * @throws StateVersionError for a missing, unknown or future `schemaVersion`, or a body that fails the schema
 *   (message names the version and the first failing paths).
 */
export function loadSessionState(raw: unknown): SessionState {
  const version = z.object({ schemaVersion: z.number().int() }).safeParse(raw);
  if (!version.success) throw new StateVersionError('carried session state has no numeric schemaVersion');
  const v = version.data.schemaVersion;
  if (v > SESSION_STATE_VERSION) {
    throw new StateVersionError(
      `carried session state has schemaVersion ${v}, newer than this worker understands (${SESSION_STATE_VERSION}); upgrade the worker`,
    );
  }
  if (v < 1) throw new StateVersionError(`carried session state has unknown schemaVersion ${v}`);
  const parsed = SessionState.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new StateVersionError(`carried session state (schemaVersion ${v}) is invalid: ${where}`);
  }
  return parsed.data;
}
