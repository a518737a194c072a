/**
 * The Agent page: the map of a loaded agent (`./AgentMap.tsx`), a side panel with the selected step, route or flow,
 * a session drawn on the map live (`?session=<id>`, `&turn=<n>` from the inspector's turn links), and the builder:
 * edits go through `src/config/agent-document.ts` (the YAML text is the document; undo/redo keep its versions),
 * every version is checked by `POST /agents/validate` (errors on the node or edge, with their YAML line), export and
 * import of the YAML, and, in `stepwise dev`, Save (after showing the diff) back to the agent's file.
 *
 * Where the YAML comes from: `GET /agents/:id/source` in `stepwise dev`; elsewhere the page is read-only (the map from
 * `GET /agents/:id/graph`) until a YAML file is imported, which can then be edited and exported.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as doc from '../../../src/config/agent-document.js';
import { agentGraph, type AgentGraph } from '../../../src/config/graph.js';
import { type AgentSnapshot, type AgentSource, type AgentSummary, api, ApiError, type SessionRow, type ValidateReply } from '../api.js';
import { useLiveSession } from '../live.js';
import { mapOverlay } from '../map-overlay.js';
import { paths, useLocation } from '../router.js';
import { AgentMap } from './AgentMap.js';
import { Panel } from './AgentPanel.js';

/** All agents, each linking to its map. */
export function AgentsPage() {
  const [agents, setAgents] = useState<AgentSummary[] | undefined>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.agents().then(setAgents, (e: ApiError) => setError(e.message));
  }, []);
  return (
    <section class="page narrow">
      <h1 tabIndex={-1}>Agents</h1>
      {error && <p role="alert" class="error">{error}</p>}
      <ul class="agent-list">
        {agents?.map((a) => (
          <li key={a.name}>
            <a href={paths.agent(a.name)}>{a.name}</a>{' '}
            <span class="muted">
              {(a.steps as string[] | undefined)?.length ?? 0} steps, {(a.flows as string[] | undefined)?.length ?? 0} flows, {(a.tools as string[] | undefined)?.length ?? 0} tools
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

interface History {
  past: string[];
  present: string;
  future: string[];
}

/** A line diff (longest common subsequence) of two texts, for Save's confirmation. */
export function lineDiff(a: string, b: string): Array<{ op: ' ' | '-' | '+'; line: string }> {
  const x = a.split('\n');
  const y = b.split('\n');
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: Array<{ op: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) out.push({ op: ' ', line: x[i++]! }), j++;
    else if (i < x.length && (j === y.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ op: '-', line: x[i++]! });
    else out.push({ op: '+', line: y[j++]! });
  }
  return out;
}

/** Node or edge id a validation error belongs to (by its key path), or undefined for the agent as a whole. */
function problemTarget(path: string, draft: doc.Draft): string | undefined {
  const step = /^steps\[(\d+)\](?:\.(?:routes|paths)\[(\d+)\])?/.exec(path);
  if (step) {
    const s = draft.steps.find((d) => d.index === Number(step[1]));
    if (!s) return undefined;
    return step[2] !== undefined ? `route:${s.id}:${step[2]}` : `step:${s.id}`;
  }
  const flow = /^flows\[(\d+)\]/.exec(path);
  if (flow) {
    const f = draft.flows.find((d) => d.index === Number(flow[1]));
    return f ? `flow:${f.id}` : undefined;
  }
  return undefined;
}

export function AgentPage({ agentId }: { agentId: string }) {
  const { search } = useLocation();
  const query = new URLSearchParams(search);
  const sessionId = query.get('session') ?? undefined;
  const turnParam = query.get('turn');
  const turn = turnParam === null ? undefined : Number(turnParam);

  const [snapshot, setSnapshot] = useState<AgentSnapshot>();
  const [serverGraph, setServerGraph] = useState<AgentGraph>();
  const [loadError, setLoadError] = useState<string>();
  const [source, setSource] = useState<AgentSource | null>();
  const [importedName, setImportedName] = useState<string>();
  const [history, setHistory] = useState<History>();
  const [validation, setValidation] = useState<ValidateReply>();
  const [selected, setSelected] = useState<string>();
  const [notice, setNotice] = useState<{ text: string; tone: 'error' | 'ok' }>();
  const [diff, setDiff] = useState<ReturnType<typeof lineDiff>>();
  const [newStep, setNewStep] = useState('');
  const [sessions, setSessions] = useState<SessionRow[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    api.agent(agentId).then(setSnapshot, (e: ApiError) => setLoadError(e.code === 'AGENT_NOT_FOUND' ? `No agent "${agentId}" is loaded.` : e.message));
    api.graph(agentId).then(setServerGraph, () => undefined);
    api.source(agentId).then(
      (s) => {
        setSource(s);
        setHistory({ past: [], present: s.yaml, future: [] });
      },
      () => setSource(null),
    );
    api.list({ agentId, limit: 20 }).then((r) => setSessions(r.sessions), () => undefined);
  }, [agentId]);

  const text = history?.present;
  const draft = useMemo(() => (text === undefined ? undefined : doc.readDraft(text)), [text]);
  const toolNames = snapshot?.tools.map((t) => t.name) ?? [];
  const graph = useMemo(
    () => (draft ? agentGraph(doc.draftGraphSource(draft, toolNames)) : serverGraph),
    [draft, serverGraph, toolNames.join(',')],
  );

  // Check every version of the text, shortly after the last edit.
  useEffect(() => {
    if (text === undefined) return;
    const timer = setTimeout(() => {
      api.validate(text, agentId).then(setValidation, (e: ApiError) => setNotice({ text: `validation failed: ${e.message}`, tone: 'error' }));
    }, 250);
    return () => clearTimeout(timer);
  }, [text, agentId]);

  const problems = useMemo(() => {
    const out: Record<string, string[]> = {};
    if (!draft || !validation) return out;
    for (const e of validation.errors) {
      const at = problemTarget(e.path, draft);
      if (!at) continue;
      const text = `line ${e.line ?? '?'}: ${e.message}`;
      (out[at] ??= []).push(text);
      // A route's problem shows on its step too (a route to a missing step has no arrow to show it on).
      const route = /^route:(.*):\d+$/.exec(at);
      if (route) (out[`step:${route[1]}`] ??= []).push(text);
    }
    return out;
  }, [validation, draft]);

  const live = useLiveSession(sessionId);
  const overlay = useMemo(() => {
    if (!sessionId || !snapshot) return undefined;
    return mapOverlay(live.events, snapshot.startStepId);
  }, [sessionId, snapshot, live.events]);
  const turnSteps = turn === undefined ? undefined : overlay?.turnSteps[turn];

  const apply = (edit: (t: string) => string) => {
    if (text === undefined) return;
    try {
      const next = edit(text);
      if (next === text) return;
      setHistory((h) => h && { past: [...h.past, h.present], present: next, future: [] });
      setNotice(undefined);
    } catch (err) {
      setNotice({ text: (err as Error).message, tone: 'error' });
    }
  };
  const undo = () => setHistory((h) => (h && h.past.length > 0 ? { past: h.past.slice(0, -1), present: h.past.at(-1)!, future: [h.present, ...h.future] } : h));
  const redo = () => setHistory((h) => (h && h.future.length > 0 ? { past: [...h.past, h.present], present: h.future[0]!, future: h.future.slice(1) } : h));

  // Delete / Backspace on the map deletes the selected step, route or flow (read through a ref: the key handler is
  // registered once).
  const deleteSelected = useRef<() => void>(() => undefined);
  deleteSelected.current = () => {
    if (text === undefined || !selected) return;
    const route = /^route:(.*):(\d+)$/.exec(selected);
    if (selected.startsWith('step:')) apply((t) => doc.deleteStep(t, selected.slice('step:'.length)));
    else if (route) apply((t) => doc.deleteRoute(t, route[1]!, Number(route[2])));
    else if (selected.startsWith('flow:')) apply((t) => doc.deleteFlow(t, selected.slice('flow:'.length)));
    else if (selected.startsWith('uses:')) {
      const [, from, tool] = /^uses:(.*):(.*)$/.exec(selected) ?? [];
      const tools = draft?.steps.find((x) => x.id === from)?.tools ?? [];
      if (from) apply((t) => doc.setStepTools(t, from, tools.filter((n) => n !== tool)));
    } else return;
    setSelected(undefined);
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      if ((e.key === 'Delete' || e.key === 'Backspace') && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        deleteSelected.current();
      } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'z') {
        e.preventDefault();
        if (e.shiftKey) redo();
        else undo();
      } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'y') {
        e.preventDefault();
        redo();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const editable = text !== undefined;
  const canSave = editable && source && !importedName && text !== source.yaml;

  const onConnect = (from: string, to: string) => {
    const fromStep = from.slice('step:'.length);
    if (!from.startsWith('step:')) return;
    if (to.startsWith('step:')) {
      const target = to.slice('step:'.length);
      apply((t) => doc.addRoute(t, fromStep, target));
      const routes = draft?.steps.find((s) => s.id === fromStep)?.routes.length ?? 0;
      setSelected(`route:${fromStep}:${routes}`);
    } else if (to.startsWith('tool:')) {
      const tool = to.slice('tool:'.length);
      const tools = draft?.steps.find((s) => s.id === fromStep)?.tools ?? [];
      if (!tools.includes(tool)) apply((t) => doc.setStepTools(t, fromStep, [...tools, tool]));
    }
  };

  const exportYaml = () => {
    if (text === undefined) return;
    const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = importedName ?? source?.file.split('/').pop() ?? `${agentId}.agent.yaml`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1_000);
  };
  const importYaml = async (file: File) => {
    const imported = await file.text();
    setHistory({ past: [], present: imported, future: [] });
    setImportedName(file.name);
    setSelected(undefined);
    setNotice({ text: `Imported ${file.name}.`, tone: 'ok' });
  };
  const save = async () => {
    if (!source || text === undefined) return;
    try {
      const saved = await api.saveSource(agentId, text, source.hash);
      setSource(saved);
      setDiff(undefined);
      api.agent(agentId).then(setSnapshot, () => undefined);
      setNotice({ text: `Saved ${saved.file}: new sessions use config ${saved.configHash}; running sessions keep theirs.`, tone: 'ok' });
    } catch (err) {
      const e = err as ApiError;
      setNotice({ text: e.code === 'SOURCE_CHANGED' ? `${e.message}` : `Not saved: ${e.message}`, tone: 'error' });
    }
  };

  if (loadError) {
    return (
      <section class="page narrow">
        <h1 tabIndex={-1}>Agent {agentId}</h1>
        <p role="alert" class="error">{loadError}</p>
        <a href={paths.agents()}>All agents</a>
      </section>
    );
  }

  const errors = validation?.errors ?? [];
  return (
    <div class="agent-page">
      <header class="agent-head">
        <h1 tabIndex={-1}>
          {agentId} <span class="muted">{importedName ? `imported ${importedName}` : source ? source.file : 'read-only'}</span>
        </h1>
        <div class="toolbar" role="toolbar" aria-label="Builder">
          {editable && (
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                const id = newStep.trim();
                if (!id) return;
                apply((t) => doc.addStep(t, id, ''));
                setSelected(`step:${id}`);
                setNewStep('');
              }}
            >
              <label for="new-step" class="sr-only">New step id</label>
              <input id="new-step" placeholder="new_step_id" value={newStep} onInput={(e) => setNewStep((e.target as HTMLInputElement).value)} />
              <button type="submit" disabled={!newStep.trim()}>Add step</button>
            </form>
          )}
          {editable && (
            <>
              <button type="button" onClick={undo} disabled={!history?.past.length} title="Ctrl+Z">Undo</button>
              <button type="button" onClick={redo} disabled={!history?.future.length} title="Ctrl+Shift+Z">Redo</button>
              <button type="button" onClick={exportYaml}>Export YAML</button>
            </>
          )}
          <button type="button" onClick={() => fileInput.current?.click()}>Import YAML</button>
          <input ref={fileInput} type="file" accept=".yaml,.yml" class="sr-only" aria-label="YAML file to import" data-testid="import-file" onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void importYaml(f);
            (e.target as HTMLInputElement).value = '';
          }} />
          {source && !importedName && (
            <button type="button" class="primary" disabled={!canSave} onClick={() => setDiff(lineDiff(source.yaml, text ?? ''))}>Save…</button>
          )}
          {editable && (
            <span class={`validity ${errors.length ? 'bad' : 'good'}`} data-testid="validity" role="status">
              {validation === undefined ? 'checking…' : errors.length === 0 ? 'valid' : `${errors.length} error${errors.length === 1 ? '' : 's'}`}
            </span>
          )}
        </div>
        <SessionPicker agentId={agentId} sessions={sessions} sessionId={sessionId} connection={sessionId ? live.connection : undefined} />
      </header>
      {notice && <p role={notice.tone === 'error' ? 'alert' : 'status'} class={notice.tone === 'error' ? 'error' : 'notice'}>{notice.text}</p>}
      {diff && (
        <section class="diff card" aria-label="Changes to save">
          <h2>Save these changes to {source?.file}?</h2>
          <pre class="diff-lines" data-testid="diff">
            {diff.map((d, i) => {
              // Changed lines with two lines of context; "…" where unchanged lines are left out.
              const near = (k: number) => diff.slice(Math.max(0, k - 2), k + 3).some((n) => n.op !== ' ');
              if (!near(i)) return i > 0 && near(i - 1) ? <div key={i} class="diff-gap">…</div> : null;
              return <div key={i} class={`diff-${d.op === '+' ? 'add' : d.op === '-' ? 'del' : 'ctx'}`}>{`${d.op} ${d.line}`}</div>;
            })}
          </pre>
          <button type="button" class="primary" onClick={() => void save()}>Save to file</button>{' '}
          <button type="button" onClick={() => setDiff(undefined)}>Cancel</button>
        </section>
      )}
      <div class="agent-body">
        {graph ? (
          <AgentMap graph={graph} overlay={overlay} turnSteps={turnSteps} problems={problems} selected={selected} onSelect={setSelected} {...(editable ? { onConnect } : {})} />
        ) : (
          <p class="muted">Loading the map…</p>
        )}
        <aside class="agent-panel" aria-label="Details">
          <Panel
            selected={selected}
            draft={draft}
            snapshot={snapshot}
            validation={validation}
            problems={problems}
            editable={editable}
            toolNames={toolNames}
            apply={apply}
            select={setSelected}
            overlay={overlay}
          />
        </aside>
      </div>
      {text !== undefined && (
        <details class="yaml-view">
          <summary>YAML</summary>
          <textarea readOnly rows={20} aria-label="Current YAML" data-testid="yaml" value={text} />
        </details>
      )}
    </div>
  );
}

function SessionPicker({ agentId, sessions, sessionId, connection }: { agentId: string; sessions: SessionRow[]; sessionId?: string; connection?: string }) {
  const [typed, setTyped] = useState('');
  return (
    <form
      class="inline session-picker"
      onSubmit={(e) => {
        e.preventDefault();
        const id = typed.trim();
        if (id) location.assign(paths.agent(agentId, { sessionId: id }));
      }}
    >
      <label for="map-session">Session on the map</label>
      <select
        id="map-session"
        value={sessionId ?? ''}
        onChange={(e) => {
          const id = (e.target as HTMLSelectElement).value;
          history.pushState(null, '', id ? paths.agent(agentId, { sessionId: id }) : paths.agent(agentId));
          dispatchEvent(new PopStateEvent('popstate'));
        }}
      >
        <option value="">none</option>
        {sessionId && !sessions.some((s) => s.sessionId === sessionId) && <option value={sessionId}>{sessionId}</option>}
        {sessions.map((s) => (
          <option key={s.sessionId} value={s.sessionId}>
            {s.sessionId} ({s.status})
          </option>
        ))}
      </select>
      <input aria-label="Session id" placeholder="or a session id" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
      {connection && <span class={`conn conn-${connection}`} data-testid="map-stream" title="event stream">live: {connection}</span>}
      {sessionId && <a href={paths.session(sessionId)}>open session</a>}
    </form>
  );
}
