/**
 * Two things the session workflow does beside the conversation, kept out of its main loop:
 * - token usage (sessions since the `token-usage` patch): every provider call's usage summed per turn (the turn
 *   result's `usage`) and per session (`getState` `usage`, the memo's `usage`, carried across continue-as-new), priced
 *   with the agent's `pricing` table when it has one;
 * - a generated title (agents with `session_title`, sessions since the `session-title` patch): after the first
 *   exchange, one `generateTitle` activity runs beside the conversation; its title becomes the session's name unless
 *   the user named it meanwhile. A failed title call is logged and changes nothing else.
 *
 * Sandbox-safe: imports `@temporalio/workflow`, pure code and activity *types* only.
 */
import { patched, upsertMemo } from '@temporalio/workflow';
import type { AgentSnapshot } from '../src/config/agent.js';
import { clip } from '../src/engine/memory.js';
import { TITLE_CONTEXT_CHARS, type TitleRequest } from '../src/engine/title.js';
import type { SessionState, TurnResult } from '../src/engine/types.js';
import { callUsage, type TokenUsage, UsageMeter } from '../src/engine/usage.js';
import { generateTitle, type UsageReport } from './activity-executors.js';
import { PATCH_IDS, type SessionWorkflowInput } from './shared.js';

/** What a title changes when it arrives: the session's name (the caller checks the user did not name it first). */
export type ApplyTitle = (title: string) => Promise<void>;

/**
 * Usage and title bookkeeping of one workflow run. Construct it in the run's first activation (its `patched()` calls
 * must come at the same point of every replay).
 */
export class UsageAndTitle {
  /** Sums usage (sessions since `token-usage`). */
  readonly usageOn: boolean;
  /** Generates a title (agents with `session_title`, sessions since `session-title`). */
  readonly titleOn: boolean;
  readonly #meter: UsageMeter;
  readonly #agent: AgentSnapshot;
  readonly #input: SessionWorkflowInput;
  #title: Promise<void> | undefined;

  constructor(input: SessionWorkflowInput) {
    this.#agent = input.agent;
    this.#input = input;
    this.usageOn = patched(PATCH_IDS.tokenUsage);
    // Checked only for agents with titles on, so other sessions' histories carry no marker for it.
    this.titleOn = input.agent.sessionTitle !== undefined && patched(PATCH_IDS.sessionTitle);
    this.#meter = new UsageMeter(this.usageOn ? input.carried?.usage : undefined);
  }

  /** The executors' usage callback (undefined when usage is off: nothing is summed). */
  get report(): UsageReport | undefined {
    if (!this.usageOn) return undefined;
    return (_purpose, usage, model, reportedModel) => this.#meter.add(callUsage(usage, { prices: this.#agent.prices, model, reportedModel }));
  }

  /** Call when a turn starts: its sum begins at zero. */
  startTurn(): void {
    this.#meter.startTurn();
  }

  /** `result` with the running turn's usage (unchanged when usage is off). */
  withUsage(result: TurnResult): TurnResult {
    return this.usageOn ? { ...result, usage: this.#meter.turn } : result;
  }

  /**
   * `state` with `result`'s usage on its kept copy in `recentResults` (what `getTurnResult` and `getHistory` answer
   * with), when usage is on.
   */
  keepUsage(state: SessionState, result: TurnResult): SessionState {
    if (!this.usageOn || !result.usage) return state;
    const usage = result.usage;
    return { ...state, recentResults: state.recentResults.map((r) => (r.messageId === result.messageId ? { ...r, usage } : r)) };
  }

  /** Fields the session's `getState` view gains: `usage` (the session's sum) when usage is on. */
  viewFields(): { usage?: TokenUsage } {
    return this.usageOn ? { usage: this.#meter.session } : {};
  }

  /** Memo fields (Temporal UI): the session's token counts and cost, when usage is on. */
  memoFields(): { usage?: Pick<TokenUsage, 'inputTokens' | 'outputTokens' | 'totalTokens' | 'costUsd'> } {
    if (!this.usageOn) return {};
    const { inputTokens, outputTokens, totalTokens, costUsd } = this.#meter.session;
    return { usage: { inputTokens, outputTokens, totalTokens, ...(costUsd !== undefined ? { costUsd } : {}) } };
  }

  /** Upserts {@link memoFields} (after each turn; nothing when usage is off). */
  updateMemo(): void {
    if (this.usageOn) upsertMemo(this.memoFields());
  }

  /** The session total to carry into the next run (continue-as-new), when usage is on. */
  carried(): { usage?: TokenUsage } {
    return this.usageOn ? { usage: this.#meter.session } : {};
  }

  /**
   * After a finished turn: when it is the session's first exchange (turn 1, or 2 after an opening turn) and the
   * session has no name, starts the title call beside the conversation (not awaited; {@link settle} waits for it).
   */
  afterTurn(result: TurnResult, named: boolean, apply: ApplyTitle): void {
    const config = this.#agent.sessionTitle;
    if (!this.titleOn || !config || named || this.#title) return;
    if (result.turn !== (this.#input.initiate ? 2 : 1)) return;
    const userText = result.events.find((e) => e.type === 'user_message')?.text ?? '';
    if (!userText.trim()) return;
    const request: TitleRequest = {
      sessionId: this.#input.sessionId,
      agentName: this.#agent.name,
      llm: config.llm,
      userText: clip(userText, TITLE_CONTEXT_CHARS),
      replyText: clip(result.reply, TITLE_CONTEXT_CHARS),
      maxChars: config.maxChars,
    };
    this.#title = (async () => {
      const out = await generateTitle(request);
      if (!out) return;
      if (this.usageOn) this.#meter.add(callUsage(out.usage, { prices: this.#agent.prices, model: config.llm.model, reportedModel: out.model }), false);
      await apply(out.title);
    })();
  }

  /** Waits for a running title call (before the run ends or continues as new). */
  async settle(): Promise<void> {
    await this.#title;
  }
}
