/**
 * The Agent page's side panel: the selected step (description, routes, tools, answer model, examples, flows), route,
 * flow or tool, or, with nothing selected, the agent's persona and the validator's errors and warnings with their
 * YAML lines. Read-only from the snapshot, or editable on the YAML document (`src/config/agent-document.ts`).
 */
import { useEffect, useState } from 'preact/hooks';
import * as doc from '../../../src/config/agent-document.js';
import type { AgentSnapshot, ValidateReply } from '../api.js';
import type { MapOverlay } from '../map-overlay.js';

export interface PanelProps {
  selected?: string;
  draft?: doc.Draft;
  snapshot?: AgentSnapshot;
  validation?: ValidateReply;
  problems: Record<string, string[]>;
  editable: boolean;
  toolNames: string[];
  apply(edit: (t: string) => string): void;
  select(id: string | undefined): void;
  overlay?: MapOverlay;
}

/** A text field that applies its value when it loses focus or on Enter (one undo step per change). */
function Field({ label, value, onCommit, multiline, testId }: { label: string; value: string; onCommit(v: string): void; multiline?: boolean; testId?: string }) {
  const [v, setV] = useState(value);
  useEffect(() => setV(value), [value]);
  const commit = () => {
    if (v !== value) onCommit(v);
  };
  return (
    <label class="field">
      <span>{label}</span>
      {multiline ? (
        <textarea rows={4} value={v} data-testid={testId} onInput={(e) => setV((e.target as HTMLTextAreaElement).value)} onBlur={commit} />
      ) : (
        <input value={v} data-testid={testId} onInput={(e) => setV((e.target as HTMLInputElement).value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />
      )}
    </label>
  );
}

/** The panel for the current selection (`step:`, `route:`, `flow:`, `tool:` ids of `./AgentMap.tsx`). */
export function Panel(p: PanelProps) {
  const { selected, draft, snapshot } = p;
  const [flowName, setFlowName] = useState('');
  const [routeTarget, setRouteTarget] = useState('');
  if (!selected) {
    const errors = p.validation?.errors ?? [];
    const warnings = p.validation?.warnings ?? [];
    return (
      <div class="panel-body">
        <h2>{draft?.name ?? snapshot?.name ?? 'Agent'}</h2>
        <p class="muted">Select a step, route or flow on the map.{p.editable ? ' Drag from a step’s right edge to another step to add a route, or to a tool to attach it.' : ''}</p>
        {p.editable && draft ? (
          <Field label="Persona" multiline value={draft.persona ?? ''} onCommit={(v) => p.apply((t) => doc.setPersona(t, v))} />
        ) : (
          snapshot && <p class="persona">{snapshot.persona}</p>
        )}
        {errors.length > 0 && (
          <>
            <h3>Errors</h3>
            <ul class="problems" data-testid="problems">
              {errors.map((e, i) => (
                <li key={i}>line {e.line ?? '?'}{e.path ? ` ${e.path}` : ''}: {e.message}</li>
              ))}
            </ul>
          </>
        )}
        {warnings.length > 0 && (
          <details>
            <summary>{warnings.length} warning{warnings.length === 1 ? '' : 's'}</summary>
            <ul class="problems warn">
              {warnings.map((e, i) => (
                <li key={i}>line {e.line ?? '?'}: {e.message}</li>
              ))}
            </ul>
          </details>
        )}
      </div>
    );
  }
  const problemList = (id: string) =>
    (p.problems[id] ?? []).length > 0 && (
      <ul class="problems" data-testid="node-problems">
        {p.problems[id]!.map((m, i) => (
          <li key={i}>{m}</li>
        ))}
      </ul>
    );

  if (selected.startsWith('step:')) {
    const id = selected.slice('step:'.length);
    const d = draft?.steps.find((s) => s.id === id);
    const s = snapshot?.steps.find((x) => x.id === id);
    const description = d?.description ?? s?.description ?? '';
    const routes = d ? d.routes : (s?.routes.map((r) => ({ target: r.target, when: r.condition })) ?? []);
    const tools = d ? d.tools : (s?.tools ?? []);
    const answerModel = d ? d.answerModel : s?.answerModel;
    const examples = d ? d.examples : s?.examples;
    const flows = draft?.flows ?? [];
    const visits = p.overlay?.visits[id];
    return (
      <div class="panel-body" data-testid="step-panel">
        <h2>Step {id}</h2>
        {problemList(selected)}
        {visits ? <p class="muted">This session: {visits} turn{visits === 1 ? '' : 's'} here.</p> : null}
        {p.editable && d ? (
          <>
            <Field label="Step id" value={id} testId="step-id" onCommit={(v) => {
              p.apply((t) => doc.renameStep(t, id, v.trim()));
              p.select(`step:${v.trim()}`);
            }} />
            <Field label="Description" multiline value={description} testId="step-description" onCommit={(v) => p.apply((t) => doc.setStepDescription(t, id, v))} />
            {draft?.startStepId !== id && <button type="button" onClick={() => p.apply((t) => doc.setStart(t, id))}>Make start step</button>}
          </>
        ) : (
          <p class="description">{description}</p>
        )}
        <h3>Routes</h3>
        {routes.length === 0 && <p class="muted">None (the step can only answer or END).</p>}
        <ol class="routes">
          {routes.map((r, i) => (
            <li key={i}>
              → <button type="button" class="link" onClick={() => p.select(`step:${r.target}`)}>{r.target}</button>
              {p.editable && d ? (
                <>
                  <Field label="when" value={r.when ?? ''} onCommit={(v) => p.apply((t) => doc.setRouteWhen(t, id, i, v))} />
                  <button type="button" onClick={() => p.apply((t) => doc.deleteRoute(t, id, i))}>Delete route</button>
                </>
              ) : (
                r.when && <span class="muted"> when {r.when}</span>
              )}
            </li>
          ))}
        </ol>
        {p.editable && d && (
          <form class="inline" onSubmit={(e) => {
            e.preventDefault();
            if (routeTarget) p.apply((t) => doc.addRoute(t, id, routeTarget));
          }}>
            <label for="route-target">Route to</label>
            <select id="route-target" value={routeTarget} onChange={(e) => setRouteTarget((e.target as HTMLSelectElement).value)}>
              <option value="">…</option>
              {draft!.steps.map((x) => <option key={x.id} value={x.id}>{x.id}</option>)}
            </select>
            <button type="submit" disabled={!routeTarget}>Add route</button>
          </form>
        )}
        <h3>Tools</h3>
        {p.editable && d ? (
          <fieldset class="tools">
            <legend class="sr-only">Tools this step may call</legend>
            {[...new Set([...p.toolNames, ...tools])].map((t) => (
              <label key={t} class="check">
                <input type="checkbox" checked={tools.includes(t)} onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  p.apply((x) => doc.setStepTools(x, id, on ? [...tools, t] : tools.filter((n) => n !== t)));
                }} />
                {t}
              </label>
            ))}
          </fieldset>
        ) : tools.length === 0 ? (
          <p class="muted">None.</p>
        ) : (
          <ul>{tools.map((t) => <li key={t}>{t}</li>)}</ul>
        )}
        {p.editable && d && (
          <>
            <h3>Flows</h3>
            {flows.map((f) => (
              <div key={f.id} class="flow-roles">
                <strong>{f.id}</strong>
                {(['entry', 'exit'] as const).map((role) => (
                  <label key={role} class="check">
                    <input type="checkbox" checked={(role === 'entry' ? f.enters : f.exits).includes(id)} onChange={(e) => p.apply((t) => doc.setFlowRole(t, f.id, id, role, (e.target as HTMLInputElement).checked))} />
                    {role}
                  </label>
                ))}
              </div>
            ))}
            <form class="inline" onSubmit={(e) => {
              e.preventDefault();
              const name = flowName.trim();
              if (name) p.apply((t) => doc.addFlow(t, name, id, id));
              setFlowName('');
            }}>
              <input aria-label="New flow id" placeholder="new_flow_id" value={flowName} onInput={(e) => setFlowName((e.target as HTMLInputElement).value)} />
              <button type="submit" disabled={!flowName.trim()}>New flow here</button>
            </form>
          </>
        )}
        {answerModel !== undefined && (
          <>
            <h3>Answer model</h3>
            <pre class="json">{JSON.stringify(answerModel, null, 2)}</pre>
          </>
        )}
        {examples && examples.length > 0 && (
          <>
            <h3>Examples</h3>
            <pre class="json">{JSON.stringify(examples, null, 2)}</pre>
          </>
        )}
        {p.editable && d && (
          <p>
            <button type="button" class="danger" onClick={() => {
              p.apply((t) => doc.deleteStep(t, id));
              p.select(undefined);
            }}>Delete step</button>
          </p>
        )}
      </div>
    );
  }

  if (selected.startsWith('route:')) {
    const [, from, n] = /^route:(.*):(\d+)$/.exec(selected) ?? [];
    const index = Number(n);
    const d = draft?.steps.find((s) => s.id === from);
    const route = d ? d.routes[index] : snapshot?.steps.find((s) => s.id === from)?.routes[index];
    const when = route ? ('when' in route ? route.when : (route as { condition?: string }).condition) : undefined;
    if (!route || from === undefined) return <div class="panel-body"><p class="muted">Route not found.</p></div>;
    return (
      <div class="panel-body" data-testid="route-panel">
        <h2>Route {from} → {route.target}</h2>
        {problemList(selected)}
        {p.editable && d ? (
          <>
            <Field label="When" value={when ?? ''} testId="route-when" onCommit={(v) => p.apply((t) => doc.setRouteWhen(t, from, index, v))} />
            <button type="button" class="danger" onClick={() => {
              p.apply((t) => doc.deleteRoute(t, from, index));
              p.select(undefined);
            }}>Delete route</button>
          </>
        ) : (
          <p>when {when || <span class="muted">(no condition)</span>}</p>
        )}
      </div>
    );
  }

  if (selected.startsWith('flow:')) {
    const id = selected.slice('flow:'.length);
    const f = draft?.flows.find((x) => x.id === id) ?? snapshot?.flows.find((x) => x.id === id);
    if (!f) return <div class="panel-body"><p class="muted">Flow not found.</p></div>;
    return (
      <div class="panel-body" data-testid="flow-panel">
        <h2>Flow {id}</h2>
        {problemList(selected)}
        <p>{f.description}</p>
        <p>Entered at: {f.enters.join(', ')}. Left at: {f.exits.join(', ')}.</p>
        {p.editable && draft && (
          <button type="button" class="danger" onClick={() => {
            p.apply((t) => doc.deleteFlow(t, id));
            p.select(undefined);
          }}>Delete flow</button>
        )}
      </div>
    );
  }

  if (selected.startsWith('tool:')) {
    const name = selected.slice('tool:'.length);
    const t = snapshot?.tools.find((x) => x.name === name);
    return (
      <div class="panel-body" data-testid="tool-panel">
        <h2>Tool {name}</h2>
        <p>{t?.description ?? <span class="muted">Not a loaded tool.</span>}</p>
        {t && <pre class="json">{JSON.stringify(t.parameters, null, 2)}</pre>}
      </div>
    );
  }
  return null;
}
