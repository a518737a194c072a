/**
 * What the peer's checkpointer stores for one thread, read from PostgresSaver's own tables (`checkpoints`,
 * `checkpoint_blobs`, `checkpoint_writes`: libs/checkpoint-postgres/src/migrations.ts in langchain-ai/langgraphjs).
 */
import pg from 'pg';

/** Stored bytes of one thread: its rows' logical sizes, and the three tables' on-disk size (all threads). */
export interface ThreadBytes {
  /** `octet_length` of the thread's checkpoint and metadata JSON (as text) and of its blobs and writes. */
  logical: number;
  /** `pg_total_relation_size` of the three tables (heap, TOAST and indexes), in bytes. */
  tables: number;
}

const LOGICAL = `
  SELECT
    (SELECT coalesce(sum(octet_length(checkpoint::text) + octet_length(metadata::text)), 0) FROM checkpoints WHERE thread_id = $1) +
    (SELECT coalesce(sum(coalesce(octet_length(blob), 0)), 0) FROM checkpoint_blobs WHERE thread_id = $1) +
    (SELECT coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes WHERE thread_id = $1) AS logical,
    pg_total_relation_size('checkpoints') + pg_total_relation_size('checkpoint_blobs') + pg_total_relation_size('checkpoint_writes') AS tables`;

/** Reads {@link ThreadBytes} of `threadId`. @throws whatever `pg` throws. */
export async function threadBytes(client: pg.ClientBase, threadId: string): Promise<ThreadBytes> {
  const { rows } = await client.query<{ logical: string; tables: string }>(LOGICAL, [threadId]);
  return { logical: Number(rows[0]!.logical), tables: Number(rows[0]!.tables) };
}
