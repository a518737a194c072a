/**
 * One session: the conversation and the inspector side by side (stacked on a phone). `interactive` is the chat
 * (composer, suggestions, approvals); otherwise a read-only view of any session, ended or live. Everything shown
 * comes from the event stream (see `../live.ts`), plus the session state for where it started.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { takesFiles } from '../../../src/engine/files.js';
import { api, type AgentSnapshot, type ApiError, type PendingApproval, type SessionState, type TurnResult, type WebConfig } from '../api.js';
import { useLiveSession } from '../live.js';
import { paths } from '../router.js';
import { partialResponse, summarize } from '../timeline.js';
import { Approvals } from './Approvals.js';
import { AttachmentList, FilePicker } from './Attachments.js';
import { DataView } from './DataView.js';
import { Inspector } from './Inspector.js';

export interface SessionPageProps {
  sessionId: string;
  interactive: boolean;
  config: WebConfig;
}

export function SessionPage({ sessionId, interactive, config }: SessionPageProps) {
  const live = useLiveSession(sessionId);
  const view = summarize(live.events);
  const [state, setState] = useState<SessionState | undefined>();
  const [loadError, setLoadError] = useState<ApiError | undefined>();
  const [sendError, setSendError] = useState<string | undefined>();
  const [sending, setSending] = useState(0);
  const [lastResult, setLastResult] = useState<TurnResult | undefined>();
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const input = useRef<HTMLTextAreaElement>(null);
  const transcriptEnd = useRef<HTMLDivElement>(null);

  // The state: at open, and again whenever a turn ends (step, status, approvals may have changed).
  const refreshKey = `${view.messages.length}:${view.ended}:${view.pendingApprovals.length}`;
  useEffect(() => {
    api.state(sessionId).then(
      (s) => {
        setState(s);
        setLoadError(undefined);
      },
      (err: ApiError) => setLoadError(err),
    );
  }, [sessionId, refreshKey]);

  // Attach is offered only where the agent's model takes files (else the API answers 400 FILES_NOT_SUPPORTED).
  const [agent, setAgent] = useState<AgentSnapshot | undefined>();
  const agentName = state?.agentName;
  useEffect(() => {
    if (interactive && agentName) api.agent(agentName).then(setAgent, () => setAgent(undefined));
  }, [interactive, agentName]);
  const canAttach = agent?.llms.global !== undefined && takesFiles(agent.llms.global);

  const streaming = partialResponse(live.tokens);
  useEffect(() => {
    transcriptEnd.current?.scrollIntoView?.({ block: 'end' });
  }, [view.messages.length, streaming]);

  const ended = view.ended || state?.status === 'ended';
  const stepId = view.stepId ?? state?.stepId;
  const flowId = view.flowId === null ? undefined : (view.flowId ?? state?.flowId);
  const decided = new Set(live.events.flatMap((e) => (e.type === 'approval_decided' ? [e.callId] : [])));
  const pending = new Map<string, PendingApproval>();
  if (!ended) for (const p of [...(state?.pendingApprovals ?? []), ...view.pendingApprovals]) if (!decided.has(p.callId)) pending.set(p.callId, p);
  const lastAgent = [...view.messages].reverse().find((m) => m.role !== 'notice');
  const suggestions =
    view.suggestions.length > 0 ? view.suggestions : lastAgent?.role === 'agent' && lastResult?.turn === lastAgent.turn ? (lastResult.suggestions ?? []) : [];

  const send = async (message: string, attached: File[] = []) => {
    // A message of files only says which files (the API needs text).
    const trimmed = message.trim() || attached.map((f) => `[${f.name}]`).join(' ');
    if (!trimmed) return;
    setSendError(undefined);
    setSending((n) => n + 1);
    setText('');
    setFiles([]);
    try {
      const res = await api.send(sessionId, trimmed, undefined, attached);
      if ('turn' in res) setLastResult(res);
    } catch (err) {
      setSendError((err as ApiError).message);
      setText((t) => t || message.trim()); // give the text and files back so they can be sent again
      setFiles((f) => (f.length > 0 ? f : attached));
    } finally {
      setSending((n) => n - 1);
      input.current?.focus();
    }
  };

  if (loadError && live.events.length === 0) {
    return (
      <section class="page narrow">
        <h1 tabIndex={-1}>Session {sessionId}</h1>
        <p role="alert" class="error">
          {loadError.code === 'SESSION_NOT_FOUND' ? 'No session with this id.' : loadError.message}
        </p>
        <a href={paths.sessions()}>All sessions</a>
      </section>
    );
  }

  const thinking = !ended && (view.busy || sending > 0);
  return (
    <div class="session">
      <section class="chat" aria-labelledby="chat-title">
        <header class="chat-head">
          <h1 id="chat-title" tabIndex={-1}>
            {state?.name ?? state?.agentName ?? 'Session'} <span class="muted session-id">{sessionId}</span>
          </h1>
          <span class={`badge badge-${ended ? 'ended' : 'active'}`}>{ended ? 'ended' : 'active'}</span>
          {!interactive && !ended && <a href={paths.chat(sessionId)}>Continue in chat</a>}
          {interactive && <a href={paths.session(sessionId)}>Read-only view</a>}
        </header>
        <ol class="transcript" aria-label="Conversation" aria-live="polite" aria-relevant="additions">
          {view.messages.map((m) => (
            <li key={m.seq} class={`msg msg-${m.role}${m.fallback ? ' msg-fallback' : ''}`} data-role={m.role}>
              <span class="sr-only">{m.role === 'user' ? 'You: ' : m.role === 'agent' ? 'Agent: ' : ''}</span>
              {m.text && <p>{m.text}</p>}
              {m.files && <AttachmentList sessionId={sessionId} files={m.files} />}
              {m.answer !== undefined && (
                <figure class="answer">
                  <figcaption>Structured answer</figcaption>
                  <DataView value={m.answer} />
                </figure>
              )}
            </li>
          ))}
        </ol>
        {streaming !== undefined && thinking && (
          <div class="msg msg-agent msg-streaming" aria-busy="true" data-testid="streaming">
            <p>{streaming}</p>
          </div>
        )}
        {thinking && streaming === undefined && (
          <p class="muted typing" role="status">
            {pending.size > 0 ? 'The turn waits for approval.' : 'The agent is working…'}
          </p>
        )}
        <div ref={transcriptEnd} />
        {interactive && !ended && suggestions.length > 0 && (
          <div class="suggestions" role="group" aria-label="Suggested replies">
            {suggestions.map((s) => (
              <button key={s} type="button" class="chip" onClick={() => send(s)}>
                {s}
              </button>
            ))}
          </div>
        )}
        <Approvals sessionId={sessionId} pending={[...pending.values()]} canDecide={!ended} />
        {interactive && !ended && (
          <form
            class="composer"
            onSubmit={(e) => {
              e.preventDefault();
              void send(text, files);
            }}
          >
            {canAttach && <FilePicker files={files} onChange={setFiles} disabled={sending > 0} />}
            <label for="message" class="sr-only">
              Message
            </label>
            <textarea
              id="message"
              ref={input}
              rows={2}
              value={text}
              placeholder="Type a message… (Enter to send, Shift+Enter for a new line)"
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                  e.preventDefault();
                  void send(text, files);
                }
              }}
            />
            <button type="submit" disabled={!text.trim() && files.length === 0}>
              Send
            </button>
          </form>
        )}
        {sendError && (
          <p role="alert" class="error">
            {sendError}
          </p>
        )}
      </section>
      <Inspector
        sessionId={sessionId}
        config={config}
        state={state}
        events={live.events}
        stepId={stepId}
        flowId={flowId}
        ended={ended}
        connection={live.connection}
        gaps={live.gaps}
      />
    </div>
  );
}
