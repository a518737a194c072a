/**
 * One PostgreSQL transaction on a pooled connection, safe against the connection dying halfway (a server restart or
 * kill): the error reaches the caller, the process survives, and the broken connection leaves the pool.
 */
import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` between `BEGIN` and `COMMIT` on a client checked out of `pool`; on any error rolls back, releases the
 * client (dropping it from the pool when the rollback fails too: the connection is gone) and rethrows.
 *
 * pg-pool takes its own error listener off a client while it is checked out, so without one here a connection lost
 * between two statements is an unhandled 'error' event, which kills the process (found by the chaos suite, seed
 * 7007: both workers died on PostgreSQL kills). The client gets one for the transaction.
 *
 * @throws the connect, statement or `fn` error as pg gives it (the caller maps it).
 */
export async function inTransaction(pool: Pool, fn: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    // A broken client keeps the listener: the pool discards it, and its socket may still report the loss.
    if (!broken) client.off('error', onError);
    client.release(broken);
  }
}
