/**
 * The session's message queue: turns waiting to run, in arrival order, with the end request and the carried
 * approval wait, plus the bounded record of messages the session refused after accepting them.
 *
 * The record is what keeps the API's promise: a message acknowledged with 202 always ends in its turn result or in a
 * refusal that `getTurnResult` keeps answering (`SESSION_ENDED` when the session ended before its turn ran,
 * `QUEUE_FULL` when a signalled message found no room), never in "unknown".
 *
 * Pure (no Temporal, no I/O): the session workflow holds one per run; continue-as-new carries `pending()` and
 * `refusals()`.
 */
import { jsonBytes } from '../src/engine/state.js';
import { MAX_QUEUED_MESSAGE_BYTES, MAX_REMEMBERED_REFUSALS, type MessageRefusal, QUEUE_FULL, type UserMessage } from './shared.js';

/** The refusal of a message the session accepted (or got as a signal) that never got a turn: the session ended first. */
export const endedRefusal = (sessionId: string): MessageRefusal => ({
  code: 'SESSION_ENDED',
  message: `session ${sessionId} ended before this message's turn ran`,
});

/**
 * A queued turn (`opening`: the agent speaks first, no user message), an end request, or `resume`: the carried turn
 * that was waiting for approval when the previous run continued as new.
 */
export type QueueItem = { kind: 'message'; message: UserMessage; opening?: true } | { kind: 'end' } | { kind: 'resume' };

/** FIFO queue of a session's turns and control items. */
export class MessageQueue {
  private readonly items: QueueItem[];
  /** UTF-8 bytes of the JSON of the queued messages (bounded by {@link MAX_QUEUED_MESSAGE_BYTES}). */
  private bytes = 0;
  private readonly refused: Map<string, MessageRefusal>;

  /**
   * @param pending messages carried from the previous run (oldest first).
   * @param refused refusals carried from the previous run, oldest first (at most {@link MAX_REMEMBERED_REFUSALS}).
   */
  constructor(pending: UserMessage[] = [], refused: Array<[string, MessageRefusal]> = []) {
    this.items = pending.map((message) => ({ kind: 'message', message }));
    this.bytes = pending.reduce((sum, m) => sum + jsonBytes(m), 0);
    this.refused = new Map(refused);
  }

  /** Items waiting (messages, end, resume). */
  get length(): number {
    return this.items.length;
  }

  /** Whether message `messageId` waits in the queue. */
  has(messageId: string): boolean {
    return this.items.some((q) => q.kind === 'message' && q.message.messageId === messageId);
  }

  /** Whether an end request waits in the queue. */
  hasEnd(): boolean {
    return this.items.some((q) => q.kind === 'end');
  }

  /** Whether `message` fits under {@link MAX_QUEUED_MESSAGE_BYTES} with the messages already queued. */
  hasRoomFor(message: UserMessage): boolean {
    return this.bytes + jsonBytes(message) <= MAX_QUEUED_MESSAGE_BYTES;
  }

  /** Queues a turn at the back (the caller checked {@link hasRoomFor} where the message can be refused). */
  pushMessage(message: UserMessage, opening?: true): void {
    this.items.push({ kind: 'message', message, ...(opening ? { opening } : {}) });
    this.bytes += jsonBytes(message);
  }

  /**
   * A signalled message (it cannot be refused to its sender): queued, or refused and recorded, when the session has
   * `ended` (or is ending) or the queue has no room. Returns the refusal, if any.
   */
  offer(message: UserMessage, sessionId: string, ended: boolean): MessageRefusal | undefined {
    const refusal: MessageRefusal | undefined = ended
      ? endedRefusal(sessionId)
      : this.hasRoomFor(message)
        ? undefined
        : { code: QUEUE_FULL, message: `session ${sessionId} had ${this.length} messages waiting; send it again later` };
    if (refusal) this.refuse(message.messageId, refusal);
    else this.pushMessage(message);
    return refusal;
  }

  /** Queues the end request at the back: the turns queued before it run first. */
  pushEnd(): void {
    this.items.push({ kind: 'end' });
  }

  /** Puts the carried approval wait first. */
  unshiftResume(): void {
    this.items.unshift({ kind: 'resume' });
  }

  /** The next item, if any. */
  shift(): QueueItem | undefined {
    const item = this.items.shift();
    if (item?.kind === 'message') this.bytes -= jsonBytes(item.message);
    return item;
  }

  /**
   * Refuses every queued message with `refusal` (recorded for `getTurnResult`) and keeps the control items, so an
   * end request becomes the next item. Returns the ids refused.
   */
  refuseQueued(refusal: MessageRefusal): string[] {
    const ids = this.pending().map((m) => m.messageId);
    const control = this.items.filter((q) => q.kind !== 'message');
    this.items.splice(0, this.items.length, ...control);
    this.bytes = 0;
    for (const id of ids) this.refuse(id, refusal);
    return ids;
  }

  /** Records that message `messageId` was refused (the newest {@link MAX_REMEMBERED_REFUSALS} are kept). */
  refuse(messageId: string, refusal: MessageRefusal): void {
    this.refused.delete(messageId);
    this.refused.set(messageId, refusal);
    if (this.refused.size > MAX_REMEMBERED_REFUSALS) this.refused.delete(this.refused.keys().next().value!);
  }

  /** Forgets `messageId`'s refusal (the message was sent again and is queued now). */
  forgetRefusal(messageId: string): void {
    this.refused.delete(messageId);
  }

  /** Why message `messageId` was refused, if it was (and is still remembered). */
  refusalOf(messageId: string): MessageRefusal | undefined {
    return this.refused.get(messageId);
  }

  /** Queued messages, oldest first (carried by continue-as-new; control items are not). */
  pending(): UserMessage[] {
    return this.items.flatMap((q) => (q.kind === 'message' ? [q.message] : []));
  }

  /** Remembered refusals, oldest first (carried by continue-as-new). */
  refusals(): Array<[string, MessageRefusal]> {
    return [...this.refused];
  }
}
