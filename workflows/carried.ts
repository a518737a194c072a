/**
 * Bounding the continue-as-new input as a whole: each part has its own bound (agent snapshot at load, state,
 * pending messages, unarchived writes, remembered ids, refusals), yet their sum could still pass Temporal's payload
 * limit and lose the session. `boundCarried` measures the whole input and sheds what the conversation can do
 * without, in this order, until it fits:
 * 1. unarchived writes, oldest first (the archive is a secondary system: those rows are lost, the session is not);
 * 2. remembered answered ids, oldest first (a retry of such an old message then runs a new turn);
 * 3. queued messages, newest first, each recorded as refused (`QUEUE_FULL`: the client sends it again).
 * State and agent are never shed: their own bounds (1 MiB, {@link MAX_AGENT_SNAPSHOT_BYTES}) keep them under the limit.
 *
 * Pure (no Temporal).
 */
import type { MAX_AGENT_SNAPSHOT_BYTES } from '../src/config/agent.js';
import { jsonBytes } from '../src/engine/state.js';
import type { SessionState } from '../src/engine/types.js';
import type { TokenUsage } from '../src/engine/usage.js';
import { MAX_CONTINUE_AS_NEW_INPUT_BYTES, type MessageRefusal, QUEUE_FULL, type SessionInfo, type SessionWorkflowInput, type UserMessage } from './shared.js';

type Carried = NonNullable<SessionWorkflowInput['carried']>;

/** What {@link boundCarried} shed to make the input fit (all zero / empty when it fitted). */
export interface Shed {
  unarchived: number;
  answered: number;
  /** Ids of queued messages refused (`QUEUE_FULL`), oldest first. */
  pending: string[];
}

/**
 * Returns `input` (not mutated) reduced until its JSON is at most `maxBytes` UTF-8 bytes, and what was shed.
 * Each element's size is measured once (element bytes plus its comma), so the cost is linear in the input.
 * When even shedding everything sheddable does not fit (state and agent alone too big), the smallest input is
 * returned and the caller's continue-as-new fails loudly: the bounds above make that unreachable.
 */
export function boundCarried(input: SessionWorkflowInput, maxBytes: number, refusal: MessageRefusal): { input: SessionWorkflowInput; shed: Shed } {
  const carried: Carried = { ...input.carried!, pending: [...input.carried!.pending] };
  const shed: Shed = { unarchived: 0, answered: 0, pending: [] };
  let bytes = jsonBytes({ ...input, carried });
  if (bytes <= maxBytes) return { input, shed };

  const unarchived = [...(carried.unarchived ?? [])];
  while (bytes > maxBytes && unarchived.length > 0) {
    bytes -= jsonBytes(unarchived.shift()) + 1;
    shed.unarchived++;
  }
  const answered = [...(carried.answered ?? [])];
  while (bytes > maxBytes && answered.length > 0) {
    bytes -= jsonBytes(answered.shift()) + 1;
    shed.answered++;
  }
  const refused = [...(carried.refused ?? [])];
  while (bytes > maxBytes && carried.pending.length > 0) {
    const message = carried.pending.pop()!;
    bytes -= jsonBytes(message) + 1;
    shed.pending.unshift(message.messageId);
    refused.push([message.messageId, refusal]);
    bytes += jsonBytes([message.messageId, refusal]) + 1;
  }
  const { unarchived: _dropped, ...rest } = carried;
  return {
    input: { ...input, carried: { ...rest, ...(unarchived.length > 0 ? { unarchived } : {}), answered, ...(refused.length > 0 ? { refused } : {}) } },
    shed,
  };
}

/** What a run hands to the next one at continue-as-new. */
export interface RunHandover {
  state: SessionState;
  info: SessionInfo;
  /** Number of the run that continues as new. */
  run: number;
  /** Queued messages, oldest first. */
  pending: UserMessage[];
  refused: Array<[string, MessageRefusal]>;
  answered: Array<[string, number]>;
  /** Whether the session writes to an archive. */
  archive: boolean;
  unarchived: unknown[];
  /** The session's token usage so far, when summed. */
  usage?: TokenUsage;
}

/**
 * The next run's input: the session's fixed input (id, agent, how it started, info) and what the run carries,
 * bounded as a whole to {@link MAX_CONTINUE_AS_NEW_INPUT_BYTES} by {@link boundCarried} (messages that do not fit
 * are refused with `QUEUE_FULL`).
 */
export function nextRunInput(input: SessionWorkflowInput, run: RunHandover): { input: SessionWorkflowInput; shed: Shed } {
  return boundCarried(
    {
      sessionId: input.sessionId,
      agent: input.agent,
      ...(input.firstMessage ? { firstMessage: true } : {}),
      ...(input.initiate ? { initiate: true } : {}),
      ...(Object.keys(run.info).length > 0 ? { info: run.info } : {}),
      carried: {
        state: run.state,
        pending: run.pending,
        run: run.run,
        ...(run.archive ? {} : { archive: false }),
        answered: run.answered,
        ...(run.unarchived.length > 0 ? { unarchived: run.unarchived } : {}),
        ...(run.refused.length > 0 ? { refused: run.refused } : {}),
        ...(run.usage ? { usage: run.usage } : {}),
      },
    },
    MAX_CONTINUE_AS_NEW_INPUT_BYTES,
    { code: QUEUE_FULL, message: `session ${input.sessionId} could not carry this message into its next run; send it again` },
  );
}
