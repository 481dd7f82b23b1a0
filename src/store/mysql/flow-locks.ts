/**
 * The serialization of flow-limited claims on MySQL: a claim of a limited type holds the type's named
 * lock (GET_LOCK) from before its transaction starts until after it commits, so a second pod's count
 * of the type's claimed steps and recent starts, read under READ COMMITTED, always sees the first
 * pod's claim. Named locks belong to the session, not the transaction, so they are released here
 * after COMMIT or ROLLBACK. Owns lock handling only; the claim itself is fenced.ts.
 */
import { StoreError } from '../../errors.js';
import { classifyMysqlError } from './classify.js';
import { run, type Connection } from './connection.js';
import type { MysqlContext } from './context.js';
import type mysql from 'mysql2/promise';

/** How long a claim waits for another pod's claim of the same limited type (each holds it for one short transaction). */
const FLOW_LOCK_WAIT_SECONDS = 10;

/** Runs `work` in one transaction on one connection while holding the named locks of `types` (taken in sorted order). */
export async function withFlowLocks<T>(
  pool: mysql.Pool,
  ctx: MysqlContext,
  lockSuffix: string,
  types: readonly string[],
  work: (connection: Connection) => Promise<T>,
): Promise<T> {
  let connection: Connection;
  try {
    connection = await pool.getConnection();
  } catch (err) {
    throw classifyMysqlError(err);
  }
  const held: string[] = [];
  let healthy = true;
  try {
    for (const type of [...new Set(types)].sort()) {
      const key = `${lockSuffix}:${type}`;
      const [row] = await run<{ got: number | null }>(connection, ctx.sql.flowLock, [key, FLOW_LOCK_WAIT_SECONDS]);
      if (row?.got !== 1) throw new StoreError('retryable', `mysql: flow lock of type '${type}' not free within ${FLOW_LOCK_WAIT_SECONDS} s`);
      held.push(key);
    }
    await connection.query('START TRANSACTION');
    try {
      const result = await work(connection);
      await connection.query('COMMIT');
      return result;
    } catch (err) {
      await connection.query('ROLLBACK').catch(() => {
        healthy = false;
      });
      throw err;
    }
  } catch (err) {
    throw err instanceof StoreError || !(err instanceof Error) || (err as { errno?: unknown }).errno === undefined ? err : classifyMysqlError(err);
  } finally {
    for (const key of held) {
      await run(connection, ctx.sql.flowUnlock, [key]).catch(() => {
        healthy = false;
      });
    }
    if (healthy) connection.release();
    else connection.destroy();
  }
}
