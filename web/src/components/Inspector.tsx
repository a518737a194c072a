/**
 * The inspector beside the chat: where the session is (step, flow, status, run), a link to its workflow in the
 * Temporal UI, and the turn timeline built from the event stream (decisions with their reasoning, tool calls with
 * arguments, results and errors, step changes, flow enter/exit with their summaries, fallbacks, approvals).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type SessionEvent, type SessionState, temporalUiLink, type WebConfig } from '../api.js';
import type { Connection } from '../live.js';
import { DataView } from './DataView.js';
import { paths } from '../router.js';
import { toolCallsOf, TurnMenu } from './TurnMenu.js';

export interface InspectorProps {
  sessionId: string;
  config: WebConfig;
  state?: SessionState;
  events: SessionEvent[];
  stepId?: string;
  flowId?: string;
  ended: boolean;
  connection: Connection;
  gaps: Array<[number, number]>;
}

export function Inspector(props: InspectorProps) {
  const { state, events } = props;
  const turns = new Map<number, SessionEvent[]>();
  for (const e of events) turns.set(e.turn, [...(turns.get(e.turn) ?? []), e]);
  const status = props.ended ? 'ended' : (state?.status ?? '…');
  // Open beside the chat on wide screens; collapsed under it on a phone until asked for.
  const [open, setOpen] = useState(() => matchMedia('(min-width: 901px)').matches);
  const aside = useRef<HTMLElement>(null);
  // Follow new events while the reader is at the bottom of the timeline (not while they scroll back).
  const follow = useRef(true);
  useEffect(() => {
    const el = aside.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [events.length]);
  const onScroll = () => {
    const el = aside.current;
    if (el) follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return (
    <aside class="inspector" aria-label="Inspector" ref={aside} onScroll={onScroll}>
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)} class="inspector-details">
        <summary>
          <h2>Inspector</h2>
        </summary>
        <dl class="facts">
          <div>
            <dt>Step</dt>
            <dd data-testid="current-step">{props.stepId ?? '…'}</dd>
          </div>
          <div>
            <dt>Flow</dt>
            <dd data-testid="current-flow">{props.flowId ?? '—'}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>{status}</dd>
          </div>
          <div>
            <dt>Agent</dt>
            <dd>{state?.agentName ?? '…'}</dd>
          </div>
          {state && state.run > 1 && (
            <div>
              <dt>Run</dt>
              <dd title="continue-as-new runs">{state.run}</dd>
            </div>
          )}
          {state?.usage && (
            <div>
              <dt>Tokens</dt>
              <dd data-testid="session-usage" title={`${state.usage.calls} model call${state.usage.calls === 1 ? '' : 's'}`}>
                {state.usage.inputTokens.toLocaleString('en')} in · {state.usage.outputTokens.toLocaleString('en')} out
                {state.usage.costUsd !== undefined && ` · $${state.usage.costUsd.toFixed(state.usage.costUsd < 0.01 ? 6 : 4)}`}
              </dd>
            </div>
          )}
          <div>
            <dt>Stream</dt>
            <dd class={`conn conn-${props.connection}`}>{props.connection}</dd>
          </div>
        </dl>
        <p>
          <a href={temporalUiLink(props.config, props.sessionId)} target="_blank" rel="noopener noreferrer">
            Open the workflow in the Temporal UI
          </a>
        </p>
        {props.gaps.length > 0 && (
          <p class="notice">
            Events {props.gaps.map(([a, b]) => `${a}–${b}`).join(', ')} are no longer held (no archive).
          </p>
        )}
        <h3>Timeline</h3>
        {events.length === 0 && <p class="muted">No events yet.</p>}
        <ol class="timeline" aria-label="Turn timeline">
          {[...turns.entries()].map(([turn, list]) => (
            <li key={turn} class="turn" data-turn={turn}>
              <h4>
                Turn {turn}
                {state?.agentName && (
                  <>
                    {' '}
                    <a class="turn-map" href={paths.agent(state.agentName, { sessionId: props.sessionId, turn })}>on the map</a>
                  </>
                )}
                {toolCallsOf(list).length > 0 && (
                  <span class="side-effects" title="Its tools ran: rewinding or forking does not undo what they did">
                    {' '}tools ran: {toolCallsOf(list).join(', ')}
                  </span>
                )}
              </h4>
              {turn > 0 && list.some((e) => e.type === 'reply') && (
                <TurnMenu sessionId={props.sessionId} turn={turn} last={turn === Math.max(...turns.keys())} ended={props.ended} />
              )}
              <ol>
                {list.map((e) => (
                  <TimelineItem key={e.seq} event={e} />
                ))}
              </ol>
            </li>
          ))}
        </ol>
      </details>
    </aside>
  );
}

function Item({ kind, label, children, tone }: { kind: string; label: ComponentChildren; children?: ComponentChildren; tone?: 'error' | 'warn' }) {
  return (
    <li class={`ev ev-${kind}${tone ? ` ev-${tone}` : ''}`} data-event={kind}>
      <div class="ev-label">{label}</div>
      {children && <div class="ev-body">{children}</div>}
    </li>
  );
}

function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

/** One event in the timeline. */
export function TimelineItem({ event: e }: { event: SessionEvent }) {
  switch (e.type) {
    case 'turn_started':
      return <Item kind={e.type} label="Turn started" />;
    case 'user_message':
      return (
        <Item kind={e.type} label="User message">
          {e.text}
          {e.files?.length ? ` (files: ${e.files.map((f) => f.name ?? f.url ?? f.fileId).join(', ')})` : ''}
        </Item>
      );
    case 'decision': {
      const d = e.decision as { action?: string; reasoning?: unknown; step_id?: string; tool_calls?: Array<{ tool: string }> };
      const reasoning = Array.isArray(d.reasoning) ? (d.reasoning as unknown[]).map(String) : [];
      const detail = d.action === 'MOVE' ? ` → ${d.step_id}` : d.action === 'TOOL_CALL' ? ` (${(d.tool_calls ?? []).map((c) => c.tool).join(', ')})` : '';
      return (
        <Item kind={e.type} label={<>Decision #{e.iteration}: <strong>{d.action ?? '?'}</strong>{detail}</>}>
          {reasoning.length > 0 && (
            <ul class="reasoning" aria-label="Reasoning">
              {reasoning.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          )}
        </Item>
      );
    }
    case 'decision_error':
      return <Item kind={e.type} tone="warn" label={`Invalid decision #${e.iteration}`}>{e.message}</Item>;
    case 'tool_call':
      return (
        <Item kind={e.type} label={<>Tool call <strong>{e.tool}</strong> <span class="muted">{e.callId}</span></>}>
          <Json value={e.arguments} />
        </Item>
      );
    case 'tool_result':
      return (
        <Item kind={e.type} label={<>Result of <strong>{e.tool}</strong> <span class="muted">{e.callId}</span></>}>
          <Json value={e.result} />
        </Item>
      );
    case 'tool_error':
      return <Item kind={e.type} tone="error" label={<>Tool error in <strong>{e.tool}</strong> <span class="muted">{e.callId}</span></>}>{e.message}</Item>;
    case 'step_change':
      return <Item kind={e.type} label={<>Step <strong>{e.from}</strong> → <strong>{e.to}</strong></>} />;
    case 'flow_enter':
      return <Item kind={e.type} label={<>Entered flow <strong>{e.flowId}</strong></>}>{e.summary && <p class="summary">{e.summary}</p>}</Item>;
    case 'flow_exit':
      return <Item kind={e.type} label={<>Left flow <strong>{e.flowId}</strong></>}>{e.summary && <p class="summary">{e.summary}</p>}</Item>;
    case 'reply':
      return (
        <Item kind={e.type} tone={e.fallback ? 'warn' : undefined} label={e.fallback ? 'Fallback reply (the model failed)' : 'Reply'}>
          {e.text}
          {e.answer !== undefined && <DataView value={e.answer} />}
        </Item>
      );
    case 'turn_failed':
      return <Item kind={e.type} tone="error" label="Turn failed">{e.message}</Item>;
    case 'retrieval_fallback':
      return <Item kind={e.type} tone="warn" label="Embeddings ranking failed: BM25 used for this turn">{e.message}</Item>;
    case 'summary_failed':
      return (
        <Item kind={e.type} tone="warn" label={<>Summary of flow <strong>{e.flowId}</strong> failed ({e.purpose === 'flow_enter' ? 'entering' : 'leaving'}): extractive summary used</>}>
          {e.message}
        </Item>
      );
    case 'session_ended':
      return <Item kind={e.type} label={`Session ended (${e.reason})`} />;
    case 'rewound':
      return <Item kind={e.type} tone="warn" label={<>Rewound to turn <strong>{e.toTurn}</strong> (turns {e.toTurn + 1}–{e.fromTurn} kept as branch <span class="muted">{e.branch}</span>)</>} />;
    case 'approval_requested':
      return (
        <Item kind={e.type} tone="warn" label={<>Approval requested for <strong>{e.tool}</strong> <span class="muted">{e.callId}</span></>}>
          <Json value={e.arguments} />
        </Item>
      );
    case 'approval_decided':
      return (
        <Item kind={e.type} tone={e.decision === 'deny' ? 'error' : undefined} label={<>{e.decision === 'approve' ? 'Approved' : 'Denied'} <strong>{e.tool}</strong>{e.timedOut ? ' (timed out)' : ''}{e.approver ? ` by ${e.approver}` : ''}</>}>
          {e.reason}
        </Item>
      );
    default:
      return <Item kind="other" label={(e as { type: string }).type}><Json value={e} /></Item>;
  }
}
