/**
 * A session run's starting state: the carried state of the previous run (continue-as-new), a seed (NOMOS client-held
 * state, new sessions only), or the agent's start step. Unusable carried state fails the session, visibly.
 *
 * Sandbox-safe: imports `@temporalio/workflow` and pure engine code only.
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import { embeddingsLlm } from '../src/config/embeddings.js';
import { initialState } from '../src/engine/engine.js';
import { loadSessionSeed, seededState } from '../src/engine/seed.js';
import { loadSessionState } from '../src/engine/state.js';
import type { SessionState } from '../src/engine/types.js';
import { now } from './activity-executors.js';
import { ArchiveWrites } from './archive-writes.js';
import { PATCH_IDS, type SessionWorkflowInput } from './shared.js';

/**
 * The run's starting state. New sessions get engine semantics 3; sessions recorded before it replay with the
 * semantics their history's marker says (`nomos-semantics`: 2, none: 1); those recorded before embeddings ranking replay with BM25 (the patch is asked only when the agent
 * could embed). A seeded session (always new, so always past the patches) starts from its seed; `input.seed` is
 * absent from every older history, so their command sequence is unchanged.
 *
 * @throws ApplicationFailure INVALID_STATE (non-retryable) when the carried state does not load (unknown or newer
 *   schema version): it will not get better on retry, so the session fails, and the archive marks it `failed`.
 */
export async function openSessionState(input: SessionWorkflowInput): Promise<SessionState> {
  const agent = input.agent;
  try {
    if (input.carried) return loadSessionState(input.carried.state);
    // A fork starts from its parent's snapshot (docs/time-travel.md), already under the fork's session id.
    if (input.fork) return loadSessionState(JSON.parse(input.fork.state));
    const semantics = sessionSemantics();
    const embeddings = embeddingsLlm(agent) !== undefined && patched(PATCH_IDS.embeddingRetrieval);
    return input.seed
      ? seededState(agent, input.sessionId, now(), loadSessionSeed(input.seed), semantics, embeddings)
      : initialState(agent, input.sessionId, now(), semantics, embeddings);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Best effort: a session that cannot load its state cannot keep writes for later either.
    await new ArchiveWrites(input.carried?.archive ?? true, []).write({
      kind: 'end',
      input: {
        sessionId: input.sessionId,
        agentName: agent.name,
        configHash: agent.configHash,
        status: 'failed',
        reason: message.slice(0, 1_000),
        at: now(),
        events: [],
      },
    });
    throw ApplicationFailure.nonRetryable(message, 'INVALID_STATE');
  }
}

/**
 * Engine semantics of a new run's session (`ENGINE_SEMANTICS` in src/engine/types.ts), one `patched()` per version: a
 * history recorded before a patch has no marker for it, so its `patched()` is false on replay and the older version
 * is chosen. Only the first true patch writes a marker, so new histories carry `nomos-iteration-rules` alone.
 */
function sessionSemantics(): number {
  if (patched(PATCH_IDS.nomosIterationRules)) return 3;
  return patched(PATCH_IDS.nomosSemantics) ? 2 : 1;
}
