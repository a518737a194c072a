/**
 * What one run of a session workflow holds (module-private to `workflows/session/`): the pinned agent, the engine
 * state, the message queue and the bookkeeping its handlers, turn loop and lifecycle share. One object, so each part
 * reads the current value (the engine state is replaced on every transition) instead of a closure's copy.
 *
 * Sandbox-safe: pure bookkeeping, no commands are issued here except by `continueAsNewDue()` reading `workflowInfo()`.
 */
import { upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { AgentSnapshot } from '../../src/config/agent.js';
import { findResult } from '../../src/engine/engine.js';
import type { SessionState, TurnResult } from '../../src/engine/types.js';
import type { ActivityMode } from '../activity-executors.js';
import { ArchiveWrites, type ArchiveWrite } from '../archive-writes.js';
import type { IdleTimer } from '../idle-timer.js';
import { MessageQueue } from '../message-queue.js';
import { SessionIndex, sessionView } from '../session-view.js';
import type { TimeTravel } from '../time-travel.js';
import type { UsageAndTitle } from '../usage-and-title.js';
import { MAX_REMEMBERED_MESSAGE_IDS, type SessionInfo, type SessionView, type SessionWorkflowInput } from '../shared.js';

/** The run's shared state. Fields are read and written by the handlers (./inbox.ts), the turn loop and the lifecycle. */
export class SessionRun {
  readonly agent: AgentSnapshot;
  /** Run number of this session (1 for the first run; continue-as-new carries it). */
  readonly run: number;
  /** User id, name, metadata: from the input, changed by `updateSessionInfo`. Empty for older sessions. */
  info: SessionInfo;
  readonly queue: MessageQueue;
  /** Results of turns finished in this run, picked up by waiting update handlers. */
  readonly finished = new Map<string, TurnResult>();
  /** Early results of turns paused for approval ("approval pending"), by message id, until they finish. */
  readonly paused = new Map<string, TurnResult>();
  busy = false;
  /** Message id of the turn being run, if any. */
  running: string | undefined;
  endRequested = false;
  turnsThisRun = 0;
  /** Turn of each remembered answered message id (carried across runs; see MAX_REMEMBERED_MESSAGE_IDS). */
  readonly answered: Map<string, number>;
  /** Continue-as-new is due: new messages are refused until the next run (see ./turn-loop.ts). */
  draining = false;
  /** Memo and search attributes of the session (Temporal UI, listings). */
  readonly index: SessionIndex;
  archived: ArchiveWrites;
  /** Set once the run has set up its idle timer (see ./workflow.ts for where). */
  idle: IdleTimer | undefined;
  /** Time travel (../time-travel.ts): this run's turn snapshots, `getTurnState` and `rewind`; set before any handler. */
  travel!: TimeTravel;
  /** Token usage and the generated title (../usage-and-title.ts); set in the run's first activation, before any handler runs. */
  extras: UsageAndTitle | undefined;
  /** How the run calls its activities (../activity-executors.ts); set in its first activation (see ./workflow.ts). */
  activityMode: ActivityMode = 'local';

  constructor(
    readonly input: SessionWorkflowInput,
    /** The engine state: replaced on every engine transition (queries see events live, mid-turn). */
    public state: SessionState,
  ) {
    this.agent = input.agent;
    this.run = (input.carried?.run ?? 0) + 1;
    this.info = input.info ?? {};
    this.queue = new MessageQueue(input.carried?.pending, input.carried?.refused);
    this.answered = new Map<string, number>(input.carried?.answered ?? input.fork?.answered ?? []);
    this.index = new SessionIndex(this.agent, () => this.state);
    this.archived = new ArchiveWrites(input.carried?.archive ?? true, (input.carried?.unarchived ?? []) as ArchiveWrite[]);
  }

  get sessionId(): string {
    return this.state.sessionId;
  }

  /** The session is ended or ending: no more messages, approvals or info changes. */
  get closed(): boolean {
    return this.state.status !== 'active' || this.endRequested;
  }

  rememberAnswer(messageId: string, turn: number): void {
    this.answered.set(messageId, turn);
    if (this.answered.size > MAX_REMEMBERED_MESSAGE_IDS) this.answered.delete(this.answered.keys().next().value!);
  }

  /** The result of message `messageId` if this run holds it: among the newest results (clipped), or finished in this run. */
  heldResult(messageId: string): TurnResult | undefined {
    return findResult(this.state, messageId) ?? this.finished.get(messageId);
  }

  /**
   * The result of message `messageId`, if the session still has it: {@link heldResult}, or (for an answered id) its
   * turn's write waiting for the archive. The last keeps a turn answered during an archive outage reachable after it
   * left the newest results and the run that ran it; before, its result URL answered 404 and a retry 409
   * MESSAGE_ALREADY_ANSWERED until the archive had the turn. Only answered ids are looked up there: `sendMessage`'s
   * validator refused them before, so no recorded update changes (`openSession` keeps {@link heldResult} for that
   * reason: its handler, not a validator, answered such an opening turn MESSAGE_ALREADY_ANSWERED).
   */
  resultOf(messageId: string): TurnResult | undefined {
    return this.heldResult(messageId) ?? (this.answered.has(messageId) ? this.archived.unarchivedResult(messageId) : undefined);
  }

  /** Answered long ago: remembered by id, but its full result is no longer held. */
  answeredLongAgo(messageId: string): number | undefined {
    return this.resultOf(messageId) ? undefined : this.answered.get(messageId);
  }

  isQueued(messageId: string): boolean {
    return this.queue.has(messageId);
  }

  /**
   * Whether `messageId`'s turn is in progress: running, or paused for approval. A paused turn carried across
   * continue-as-new is in progress before `running` says so: from the suspension until the next run resumes it
   * (`state.turn` holds it throughout), so its result URL answers `running` there too, never `unknown` (found by the
   * chaos suite: a 404 for an acknowledged message).
   */
  inProgress(messageId: string): boolean {
    return this.running === messageId || this.state.turn?.messageId === messageId;
  }

  /**
   * Whether the session is working on its own, so more events may come without anything from outside (`getEvents`'
   * `busy`): continuing as new, a turn running that does not wait for a human decision, or (with no turn running) a
   * message queued. A turn waiting for a decision holds its queue back, so it is not busy until the decision (or its
   * approval timeout) comes.
   */
  get working(): boolean {
    if (this.draining) return true;
    if (this.running !== undefined) return !this.state.turn?.approval?.pending.length;
    return this.queue.length > 0;
  }

  /** An end request joins the queue once (the turns queued before it run first, unless a turn waits for approval). */
  requestEnd(): void {
    if (!this.endRequested && this.state.status === 'active') {
      this.endRequested = true;
      this.queue.pushEnd();
    }
  }

  /** Why nothing may be rewound now: ended or ending, continuing as new, or a turn running, waiting or queued. */
  rewindBlocked(): 'ended' | 'in_flight' | 'continuing' | undefined {
    if (this.closed) return 'ended';
    if (this.draining) return 'continuing';
    return this.busy || this.running !== undefined || this.queue.length > 0 || this.state.turn !== null ? 'in_flight' : undefined;
  }

  /** Forgets the message ids (and held results) of turns after `turn`: after a rewind they may be sent again. */
  forgetAfter(turn: number): void {
    for (const [id, t] of [...this.answered]) if (t > turn) this.answered.delete(id);
    for (const [id, result] of [...this.finished]) if (result.turn > turn) this.finished.delete(id);
  }

  /** Continue-as-new is due (at least one turn per run: a first event over `maxHistoryBytes` must not loop). */
  continueAsNewDue(): boolean {
    const info = workflowInfo();
    const limits = this.agent.session;
    return this.turnsThisRun > 0 && (info.continueAsNewSuggested || this.turnsThisRun >= limits.maxTurnsPerRun || info.historySize >= limits.maxHistoryBytes);
  }

  /** The `getState` view (also the reply of `endSession` and `updateSessionInfo`), with the session's usage once summed. */
  view(): SessionView {
    return { ...sessionView(this.agent, this.state, this.info, this.run, this.queue.length, this.busy), ...this.extras?.viewFields() };
  }

  /** A generated title becomes the name unless the user named the session first (memo and archive follow). */
  async applyTitle(title: string): Promise<void> {
    if (this.info.name !== undefined) return;
    this.info = { ...this.info, name: title };
    upsertMemo({ name: title });
    await this.archived.write({ kind: 'info', input: { sessionId: this.sessionId, name: title } });
  }

  /** Updates the memo and search attributes from the current state. */
  memo(extra?: Record<string, unknown>): void {
    this.index.update(extra);
  }
}
