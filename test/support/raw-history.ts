/**
 * A workflow's history exactly as Temporal stores it: fetched with `workflowService.getWorkflowExecutionHistory`
 * (no data converter, no codec), for tests that look for plaintext or secrets in it.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Every event of the workflow's current run (all pages), raw protobuf objects. */
export async function rawHistory(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId },
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/**
 * The history as one JSON text in which every byte field (payload data, metadata values) is its UTF-8 reading: plain
 * JSON payloads read as the JSON they hold, so a substring search finds any text stored in the clear.
 */
export function historyText(events: HistoryEvent[]): string {
  // Not JSON.stringify(events) alone: protobuf messages' toJSON writes bytes as base64, hiding any text in them.
  const readable = (node: unknown): unknown => {
    if (node instanceof Uint8Array) return Buffer.from(node).toString('utf8');
    if (Array.isArray(node)) return node.map(readable);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, readable(v)]));
    return node;
  };
  return JSON.stringify(readable(events));
}

/** Every payload (`{metadata, data}` with an `encoding`) anywhere in the history, in Temporal's codec JSON form. */
export function historyPayloads(events: HistoryEvent[]): Array<{ metadata: Record<string, string>; data: string }> {
  const found: Array<{ metadata: Record<string, string>; data: string }> = [];
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
    if (Array.isArray(node)) return node.forEach(walk);
    const obj = node as Record<string, unknown>;
    const metadata = obj.metadata as Record<string, Uint8Array> | undefined;
    if (metadata && typeof metadata === 'object' && metadata.encoding instanceof Uint8Array) {
      found.push({
        metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from((obj.data as Uint8Array | undefined) ?? new Uint8Array()).toString('base64'),
      });
      return;
    }
    Object.values(obj).forEach(walk);
  };
  walk(events);
  return found;
}
