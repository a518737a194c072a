/**
 * Editing agent YAML without rewriting it: the flow builder's model (web app Agent page, `docs/flow-builder.md`).
 *
 * The YAML text is the document. An edit parses it with the `yaml` package's Document API, re-serialises only the
 * smallest unit it changes — one item of `steps` or `flows`, or one top-level key — and splices that back into the
 * text, so every byte outside the edited unit (comments, key order, quoting, folded text, blank lines) stays as
 * written; inside the unit, comments and key order are kept by the Document API. Importing and exporting without
 * edits therefore gives the text back unchanged. NOMOS field names and aliases are read and written as the document
 * uses them (`id`/`step_id`, `paths`/`routes`, `to`/`target`, `when`/`condition`, `tools`/`available_tools`).
 *
 * Pure (only the `yaml` package): the browser and node tests use the same functions. Edits throw {@link EditError}
 * when they cannot apply (unknown step, duplicate id, text that does not parse); reading never throws.
 */
import { Document, isMap, isSeq, type Node, parseDocument, type YAMLMap } from 'yaml';
import { EditError } from './agent-document-errors.js';
import { appendItem, editItem, parse, removeItem, setTopLevel } from './agent-document-splice.js';
import type { GraphSource } from './graph.js';

export { EditError } from './agent-document-errors.js';

/** A route as the map draws it. */
export interface DraftRoute {
  target: string;
  when?: string;
}

/** A step as the builder shows it (values as written; absent fields absent). */
export interface DraftStep {
  id: string;
  description?: string;
  routes: DraftRoute[];
  tools: string[];
  answerModel?: unknown;
  examples?: unknown[];
  /** Index in `steps`. */
  index: number;
}

export interface DraftFlow {
  id: string;
  description?: string;
  enters: string[];
  exits: string[];
  index: number;
}

/** What the builder reads from a YAML text (tolerant: a half-written document gives what can be read). */
export interface Draft {
  name?: string;
  persona?: string;
  startStepId?: string;
  steps: DraftStep[];
  flows: DraftFlow[];
  /** YAML syntax errors, if any (then nothing else is read). */
  syntaxErrors: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const strList = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** The key a field uses in `obj`: the canonical name unless only the alias is written. */
const keyIn = (obj: Obj | YAMLMap, name: string, alias: string): string => {
  const has = (k: string) => (isMap(obj) ? obj.has(k) : k in obj);
  return has(name) ? name : has(alias) ? alias : name;
};

/** Reads the parts of an agent the builder draws and edits. Never throws. */
export function readDraft(text: string): Draft {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { steps: [], flows: [], syntaxErrors: doc.errors.map((e) => e.message) };
  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { steps: [], flows: [], syntaxErrors: [(err as Error).message] };
  }
  const root = isObj(plain) ? plain : {};
  const steps = (Array.isArray(root.steps) ? root.steps : []).flatMap((s, index): DraftStep[] => {
    if (!isObj(s)) return [];
    const id = str(s[keyIn(s, 'step_id', 'id')]);
    if (id === undefined) return [];
    const routes = (Array.isArray(s[keyIn(s, 'routes', 'paths')]) ? (s[keyIn(s, 'routes', 'paths')] as unknown[]) : []).flatMap((r): DraftRoute[] => {
      if (!isObj(r)) return [];
      const target = str(r[keyIn(r, 'target', 'to')]);
      const when = str(r[keyIn(r, 'condition', 'when')]);
      return target === undefined ? [] : [{ target, ...(when === undefined ? {} : { when }) }];
    });
    const description = str(s[keyIn(s, 'description', 'desc')]);
    const examples = s[keyIn(s, 'examples', 'eg')];
    return [
      {
        id,
        ...(description === undefined ? {} : { description }),
        routes,
        tools: strList(s[keyIn(s, 'available_tools', 'tools')]),
        ...(s.answer_model === undefined ? {} : { answerModel: s.answer_model }),
        ...(Array.isArray(examples) ? { examples } : {}),
        index,
      },
    ];
  });
  const flows = (Array.isArray(root.flows) ? root.flows : []).flatMap((f, index): DraftFlow[] => {
    if (!isObj(f)) return [];
    const id = str(f[keyIn(f, 'flow_id', 'id')]);
    if (id === undefined) return [];
    const description = str(f[keyIn(f, 'description', 'desc')]);
    return [{ id, ...(description === undefined ? {} : { description }), enters: strList(f.enters), exits: strList(f.exits), index }];
  });
  return {
    ...(str(root.name) === undefined ? {} : { name: str(root.name) }),
    ...(str(root.persona) === undefined ? {} : { persona: str(root.persona) }),
    ...(str(root.start_step_id) === undefined ? {} : { startStepId: str(root.start_step_id) }),
    steps,
    flows,
    syntaxErrors: [],
  };
}

/** The map's input from a draft: `tools` are the loaded tools (drawn even when no step names them). */
export function draftGraphSource(draft: Draft, tools: readonly string[] = []): GraphSource {
  return {
    startStepId: draft.startStepId ?? '',
    steps: draft.steps.map((s) => ({ id: s.id, tools: s.tools, routes: s.routes.map((r) => ({ target: r.target, condition: r.when ?? '' })) })),
    flows: draft.flows.map((f) => ({ id: f.id, description: f.description ?? '', enters: f.enters, exits: f.exits, memory: { recentItems: 0, recentChars: 0, maxItems: 0, retrieveK: 0 } })),
    tools: tools.map((name) => ({ name })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Edits

function stepIndex(text: string, stepId: string): number {
  const step = readDraft(text).steps.find((s) => s.id === stepId);
  if (!step) throw new EditError(`no step "${stepId}"`);
  return step.index;
}

const STEP_ID = /^[A-Za-z0-9_.-]+$/;

/** A new step `id` (with `description`) at the end of `steps`, written with the document's field names. */
export function addStep(text: string, id: string, description = ''): string {
  if (!STEP_ID.test(id)) throw new EditError(`a step id uses letters, digits, "_", "-" and "." only (got "${id}")`);
  const draft = readDraft(text);
  if (draft.steps.some((s) => s.id === id)) throw new EditError(`a step "${id}" exists already`);
  const nomos = parse(text).toJS()?.steps?.some?.((s: unknown) => isObj(s) && 'id' in s && !('step_id' in s));
  const step: Obj = nomos ? { id } : { step_id: id };
  if (description !== '') step[nomos ? 'desc' : 'description'] = description;
  return appendItem(text, 'steps', step);
}

/** Deletes a step with the routes leading to it and its places in flows (a flow left without entry or exit goes too). */
export function deleteStep(text: string, stepId: string): string {
  let out = text;
  for (const step of readDraft(out).steps) {
    if (step.id === stepId) continue;
    const kept = step.routes.filter((r) => r.target !== stepId);
    if (kept.length !== step.routes.length) {
      out = editItem(out, 'steps', step.index, (map) => {
        const key = keyIn(map, 'routes', 'paths');
        const seq = map.get(key, true);
        if (!isSeq(seq)) return;
        seq.items = seq.items.filter((r) => !(isMap(r) && (r.get('target') ?? r.get('to')) === stepId));
        if (seq.items.length === 0) map.delete(key);
      });
    }
  }
  for (const flow of [...readDraft(out).flows].reverse()) {
    if (!flow.enters.includes(stepId) && !flow.exits.includes(stepId)) continue;
    const enters = flow.enters.filter((s) => s !== stepId);
    const exits = flow.exits.filter((s) => s !== stepId);
    out = enters.length === 0 || exits.length === 0 ? removeItem(out, 'flows', flow.index) : setFlowSteps(out, flow.index, enters, exits);
  }
  return removeItem(out, 'steps', stepIndex(out, stepId));
}

/** Renames a step everywhere: its id, route targets, `start_step_id`, flows' `enters`/`exits`. */
export function renameStep(text: string, from: string, to: string): string {
  if (from === to) return text;
  if (!STEP_ID.test(to)) throw new EditError(`a step id uses letters, digits, "_", "-" and "." only (got "${to}")`);
  const draft = readDraft(text);
  if (draft.steps.some((s) => s.id === to)) throw new EditError(`a step "${to}" exists already`);
  let out = editItem(text, 'steps', stepIndex(text, from), (map) => map.set(keyIn(map, 'step_id', 'id'), to));
  for (const step of readDraft(out).steps) {
    if (!step.routes.some((r) => r.target === from)) continue;
    out = editItem(out, 'steps', step.index, (map) => {
      const seq = map.get(keyIn(map, 'routes', 'paths'), true);
      if (!isSeq(seq)) return;
      for (const r of seq.items) if (isMap(r) && (r.get('target') ?? r.get('to')) === from) r.set(keyIn(r, 'target', 'to'), to);
    });
  }
  for (const flow of readDraft(out).flows) {
    if (!flow.enters.includes(from) && !flow.exits.includes(from)) continue;
    const swap = (list: string[]) => list.map((s) => (s === from ? to : s));
    out = setFlowSteps(out, flow.index, swap(flow.enters), swap(flow.exits));
  }
  if (readDraft(out).startStepId === from) out = setStart(out, to);
  return out;
}

/** Sets `start_step_id`. */
export function setStart(text: string, stepId: string): string {
  stepIndex(text, stepId);
  return setTopLevel(text, 'start_step_id', () => stepId);
}

/** Sets (or, with an empty string, removes) a step's description, under the key the step uses. */
export function setStepDescription(text: string, stepId: string, description: string): string {
  return editItem(text, 'steps', stepIndex(text, stepId), (map, doc) => {
    const key = keyIn(map, 'description', 'desc');
    if (description === '') map.delete(key);
    else map.set(key, doc.createNode(description)); // a new node: written plain (or quoted if it must be), not in the old style
  });
}

/** Sets the tools a step may call (an empty list removes the key). */
export function setStepTools(text: string, stepId: string, tools: readonly string[]): string {
  return editItem(text, 'steps', stepIndex(text, stepId), (map, doc) => {
    const key = keyIn(map, 'available_tools', 'tools');
    if (tools.length === 0) return void map.delete(key);
    const old = map.get(key, true);
    const node = doc.createNode([...tools]);
    if (isSeq(old)) node.flow = old.flow ?? false;
    else node.flow = true;
    map.set(key, node);
  });
}

/** Adds a route `from` → `to` (with its condition when given). */
export function addRoute(text: string, from: string, to: string, when?: string): string {
  stepIndex(text, to);
  return editItem(text, 'steps', stepIndex(text, from), (map, doc) => {
    const key = keyIn(map, 'routes', 'paths');
    const nomos = key === 'paths';
    const route: Obj = nomos ? { to } : { target: to };
    if (when !== undefined && when !== '') route[nomos ? 'when' : 'condition'] = when;
    const seq = map.get(key, true);
    if (isSeq(seq)) seq.items.push(doc.createNode(route) as Node);
    else map.set(key, doc.createNode([route]));
  });
}

/** Deletes route `index` of a step. */
export function deleteRoute(text: string, from: string, index: number): string {
  return editItem(text, 'steps', stepIndex(text, from), (map) => {
    const key = keyIn(map, 'routes', 'paths');
    const seq = map.get(key, true);
    if (!isSeq(seq) || !seq.items[index]) throw new EditError(`step "${from}" has no route ${index}`);
    seq.items.splice(index, 1);
    if (seq.items.length === 0) map.delete(key);
  });
}

/** Sets the condition of route `index` of a step (empty: removed). */
export function setRouteWhen(text: string, from: string, index: number, when: string): string {
  return editItem(text, 'steps', stepIndex(text, from), (map) => {
    const seq = map.get(keyIn(map, 'routes', 'paths'), true);
    const route = isSeq(seq) ? seq.items[index] : undefined;
    if (!isMap(route)) throw new EditError(`step "${from}" has no route ${index}`);
    const key = keyIn(route, 'condition', 'when');
    if (when === '') route.delete(key);
    else route.set(key, when);
  });
}

function setFlowSteps(text: string, index: number, enters: string[], exits: string[]): string {
  return editItem(text, 'flows', index, (map, doc) => {
    for (const [key, list] of [['enters', enters], ['exits', exits]] as const) {
      const old = map.get(key, true);
      const node = doc.createNode([...list]);
      node.flow = isSeq(old) ? (old.flow ?? false) : true;
      map.set(key, node);
    }
  });
}

/**
 * Makes a step an entry or exit step of a flow, or not. A flow needs one of each: removing the last entry or exit
 * is an {@link EditError} (delete the flow instead).
 */
export function setFlowRole(text: string, flowId: string, stepId: string, role: 'entry' | 'exit', on: boolean): string {
  stepIndex(text, stepId);
  const flow = readDraft(text).flows.find((f) => f.id === flowId);
  if (!flow) throw new EditError(`no flow "${flowId}"`);
  const list = role === 'entry' ? flow.enters : flow.exits;
  const next = on ? (list.includes(stepId) ? list : [...list, stepId]) : list.filter((s) => s !== stepId);
  if (next.length === 0) throw new EditError(`flow "${flowId}" needs at least one ${role} step: delete the flow instead`);
  return role === 'entry' ? setFlowSteps(text, flow.index, next, flow.exits) : setFlowSteps(text, flow.index, flow.enters, next);
}

/** A new flow entered at `entry` and left at `exit`. */
export function addFlow(text: string, flowId: string, entry: string, exit: string): string {
  if (!STEP_ID.test(flowId)) throw new EditError(`a flow id uses letters, digits, "_", "-" and "." only (got "${flowId}")`);
  if (readDraft(text).flows.some((f) => f.id === flowId)) throw new EditError(`a flow "${flowId}" exists already`);
  stepIndex(text, entry);
  stepIndex(text, exit);
  return appendItem(text, 'flows', { flow_id: flowId, enters: [entry], exits: [exit] });
}

/** Deletes a flow. */
export function deleteFlow(text: string, flowId: string): string {
  const flow = readDraft(text).flows.find((f) => f.id === flowId);
  if (!flow) throw new EditError(`no flow "${flowId}"`);
  return removeItem(text, 'flows', flow.index);
}

/** Sets the agent's persona. */
export function setPersona(text: string, persona: string): string {
  return setTopLevel(text, 'persona', () => persona);
}
