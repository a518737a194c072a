/**
 * The splicing under the flow builder's edits (./agent-document.ts): re-serialise one unit of an agent YAML (an item
 * of `steps` or `flows`, or one top-level key) with the `yaml` package's Document API and put it back into the text,
 * leaving every other byte as written. Pure (only the `yaml` package).
 */
import { Document, isMap, isScalar, isSeq, type Node, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { EditError } from './agent-document-errors.js';

type Obj = Record<string, unknown>;

/** Serialisation of edited units: the project's 120-column width, two-space indentation, sequences indented. */
const TO_STRING = { lineWidth: 120, minContentWidth: 40 } as const;

/**
 * A unit serialised at `column`: lines fit the 120 columns where they will sit, and flow sequences that are a whole
 * value are written `[a, b]` (the usual hand-written form; the `yaml` package pads them as `[ a, b ]` when it pads
 * flow maps `{ k: v }`) unless the unit wrote them padded.
 */
export function serialize(unit: Document, column: number, original: string): string {
  const out = unit.toString({ ...TO_STRING, lineWidth: Math.max(60, TO_STRING.lineWidth - column) });
  return /: \[ /.test(original) ? out : out.replace(/: \[ ([^[\]\n"']*?) \]$/gm, ': [$1]');
}

export function parse(text: string): Document.Parsed {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new EditError(`the YAML does not parse: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (!isMap(doc.contents)) throw new EditError('the YAML is not a map of agent fields');
  return doc;
}

export const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
export const columnOf = (text: string, offset: number) => offset - lineStart(text, offset);
export const indent = (body: string, n: number) => body.replace(/\n(?=[^\n])/g, `\n${' '.repeat(n)}`);

/** Splits a slice into its content and its trailing blank space (kept as written). */
export function trailing(slice: string): [string, string] {
  const m = /\n[\s]*$/.exec(slice);
  return m ? [slice.slice(0, m.index + 1), slice.slice(m.index + 1)] : [slice, ''];
}

/**
 * Re-serialises the block map at `range` (an item of `steps`/`flows`) after `mutate`, keeping its indentation, and
 * splices it into `text`.
 */
export function rewriteMap(text: string, range: [number, number, number], mutate: (map: YAMLMap, doc: Document) => void): string {
  const [start, end] = range;
  const column = columnOf(text, start);
  const [body, rest] = trailing(text.slice(start, end));
  const dedented = body.replace(new RegExp(`\\n {${column}}`, 'g'), '\n');
  const unit = parseDocument(dedented);
  if (unit.errors.length > 0 || !isMap(unit.contents)) throw new EditError('this part of the YAML cannot be edited here (unusual indentation): edit it in the file');
  mutate(unit.contents, unit);
  let out = indent(serialize(unit, column, body), column);
  if (!body.endsWith('\n')) out = out.replace(/\n$/, '');
  return text.slice(0, start) + out + rest + text.slice(end);
}

/** The block sequence at top-level `key` (absent, or a flow sequence: undefined). */
export function blockSeq(doc: Document.Parsed, key: string): YAMLSeq<Node> | undefined {
  const node = doc.get(key, true);
  return isSeq(node) && !node.flow && node.items.length > 0 && node.range ? (node as YAMLSeq<Node>) : undefined;
}

/** Edits item `index` of the top-level sequence `key`. */
export function editItem(text: string, key: 'steps' | 'flows', index: number, mutate: (map: YAMLMap, doc: Document) => void): string {
  const doc = parse(text);
  const seq = blockSeq(doc, key);
  const item = seq?.items[index];
  if (seq && isMap(item) && item.range) return rewriteMap(text, item.range, mutate);
  // A flow-style sequence (`flows: [{...}]`): edit the whole key.
  return setTopLevel(text, key, (node, d) => {
    const m = isSeq(node) ? node.items[index] : undefined;
    if (!isMap(m)) throw new EditError(`${key}[${index}] is not a map`);
    mutate(m, d);
  });
}

/**
 * Re-serialises the top-level pair `key` after `mutate` (given the value node, or undefined when absent, and
 * returning a replacement value when it returns one); appends the key at the end when it is absent.
 */
export function setTopLevel(text: string, key: string, mutate: (node: unknown, doc: Document) => unknown): string {
  const doc = parse(text);
  const root = doc.contents as YAMLMap;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (!pair) {
    const unit = new Document({});
    const value = mutate(undefined, unit);
    unit.set(key, value === undefined ? null : unit.createNode(value));
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return text + sep + serialize(unit, 0, text);
  }
  const keyNode = pair.key as Node;
  const valueNode = pair.value as Node | null;
  const start = keyNode.range![0];
  const end = valueNode?.range ? valueNode.range[1] : keyNode.range![2];
  const [body, rest] = trailing(text.slice(start, end));
  const unit = parseDocument(body);
  if (unit.errors.length > 0 || !isMap(unit.contents)) throw new EditError(`${key} cannot be edited here: edit it in the file`);
  const node = unit.get(key, true);
  const replaced = mutate(node, unit);
  if (replaced !== undefined) unit.set(key, unit.createNode(replaced));
  let out = serialize(unit, 0, body);
  if (!body.endsWith('\n')) out = out.replace(/\n$/, '');
  return text.slice(0, start) + out + rest + text.slice(end);
}

/** Appends `value` (a plain object) to the top-level sequence `key`, after its last item, in the same layout. */
export function appendItem(text: string, key: 'steps' | 'flows', value: Obj): string {
  const doc = parse(text);
  const seq = blockSeq(doc, key);
  const last = seq?.items.at(-1);
  if (!seq || !last?.range) {
    return setTopLevel(text, key, (node) => [...(isSeq(node) ? (node.toJSON() as unknown[]) : []), value]);
  }
  const column = columnOf(text, last.range[0]);
  const [body] = trailing(text.slice(last.range[0], last.range[1]));
  const insertAt = last.range[0] + body.length;
  // Items separated by blank lines (as the examples write steps) get one before the new item too.
  const first = seq.items[0]!;
  const [firstBody] = trailing(text.slice(first.range![0], first.range![1]));
  const spaced = seq.items.length > 1 && /^\s*\n/.test(text.slice(first.range![0] + firstBody.length, lineStart(text, seq.items[1]!.range![0])));
  const item = indent(serialize(new Document(value), column, text), column);
  const lead = body.endsWith('\n') ? '' : '\n';
  return text.slice(0, insertAt) + lead + (spaced ? '\n' : '') + `${' '.repeat(Math.max(0, column - 2))}- ${item}` + text.slice(insertAt);
}

/** Removes item `index` of the top-level sequence `key` (its lines). */
export function removeItem(text: string, key: 'steps' | 'flows', index: number): string {
  const doc = parse(text);
  const seq = blockSeq(doc, key);
  const item = seq?.items[index];
  if (!seq || !item?.range || seq.items.length === 1) {
    return setTopLevel(text, key, (node) => (isSeq(node) ? (node.toJSON() as unknown[]).filter((_, i) => i !== index) : []));
  }
  const from = lineStart(text, item.range[0]);
  const [body] = trailing(text.slice(item.range[0], item.range[1]));
  const isLast = index === seq.items.length - 1;
  // The last item gives up its own lines and the blank line before it; others their lines and their trailing blank.
  if (isLast) {
    const prev = seq.items[index - 1]!;
    const [prevBody] = trailing(text.slice(prev.range![0], prev.range![1]));
    return text.slice(0, prev.range![0] + prevBody.length) + text.slice(item.range[0] + body.length);
  }
  return text.slice(0, from) + text.slice(lineStart(text, seq.items[index + 1]!.range![0]));
}
