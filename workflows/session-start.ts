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
import { ENGINE_SEMANTICS, type SessionState } from '../src/engine/types.js';
import { now } from './activity-executors.js';
import { ArchiveWrites } from './archive-writes.js';
import { PATCH_IDS, type SessionWorkflowInput } from './shared.js';

/**
 * The run's starting state. Sessions recorded before engine semantics 2 replay with semantics 1 (no patch marker in
 * their history); those recorded before embeddings ranking replay with BM25 (the patch is asked only when the agent
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
    const semantics = patched(PATCH_IDS.nomosSemantics) ? ENGINE_SEMANTICS : 1;
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
