/**
 * The connections of one MySQL store: a main pool for steps, reads and sweeps and a small pool
 * reserved for heartbeats and leadership (so a burst of claims can never make a live pod miss its
 * heartbeat), each connection set up the same way; and the two runners every method goes through:
 * `inTransaction` (BEGIN … COMMIT on one connection, retried on a deadlock or lock wait timeout with
 * jitter) and `runRead` (one statement, repeated once on a dropped connection). Owns connection
 * settings, error reporting and retries; must not hold SQL of the queue.
 *
 * Session settings, sent on every new connection before its first statement:
 * - `time_zone = '+00:00'`: `CURRENT_TIMESTAMP` and `UNIX_TIMESTAMP(…)` then mean UTC whatever the
 *   server's zone, so no DST hour is ambiguous when the clock becomes epoch ms.
 * - READ COMMITTED: a locking read of a key that does not exist takes no gap lock, so two producers
 *   racing on one idempotency key meet at the unique index (1062, re-run) instead of deadlocking,
 *   and SKIP LOCKED claims lock only the rows they return.
 * - `innodb_lock_wait_timeout = 10`: a runtime transaction is short by design; waiting 50 s (the
 *   default) for a lock means something is wrong, and 1205 is retried here anyway.
 * - a strict `sql_mode`, so a value that does not fit is an error, never silently truncated.
 * - MariaDB only (an executable comment MySQL skips): `idle_transaction_timeout = 10`. A transaction
 *   here spans several round trips, so a client frozen inside one (SIGSTOP, a paused VM, an event
 *   loop blocked by a synchronous handler) would keep its rows locked, and SKIP LOCKED claims and
 *   sweeps would pass them by, for as long as it stays frozen: the end-to-end SIGSTOP scenario never
 *   saw the frozen pod's claims recovered until this was set. After 10 s idle inside a transaction
 *   the server rolls it back and drops the connection; the frozen pod finds a dropped connection
 *   when it wakes (a retryable error). MySQL 8 has no such setting: there, lower the server's
 *   `wait_timeout` if pods may be frozen rather than killed (README).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool as CallbackPool, PoolConnection as CallbackConnection } from 'mysql2';
import { StoreError } from '../../errors.js';
import { classifyMysqlError } from './classify.js';

/** What `openMysqlStore` passes on about connecting. */
export interface MysqlConnectionOptions {
  /** `mysql://user:password@host:3306/database`; the database must exist. */
  readonly url: string;
  /** Main pool size; default 10. */
  readonly poolSize?: number;
  readonly ssl?: { readonly rejectUnauthorized?: boolean; readonly ca?: string };
  /** Background connection failures, already classified. */
  readonly onError?: (err: StoreError) => void;
}

/** MariaDB rolls back a transaction idle this long (see the header). */
export const IDLE_TRANSACTION_TIMEOUT_S = 10;

const SESSION_SETUP = [
  "SET time_zone = '+00:00', innodb_lock_wait_timeout = 10, " +
    "sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' " +
    `/*M!100300 , idle_transaction_timeout = ${IDLE_TRANSACTION_TIMEOUT_S} */`,
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
];

/** Heartbeat + leader check may overlap; two connections are enough for both. */
const CONTROL_POOL_SIZE = 2;
const DEFAULT_POOL_SIZE = 10;

/**
 * A transaction that lost a deadlock (1213) or a lock wait (1205) is run again after a jittered,
 * growing pause (5, 10, 20, 40 ms × U[0.5, 1]), at most this many times in all: InnoDB rolled the
 * deadlock victim back whole, and the transaction is re-run from its first read.
 */
const TRANSACTION_RUNS = 5;
const RETRY_BASE_MS = 5;

/** Deadlock and lock wait timeout: the transaction itself was refused, so re-running it is safe. */
const RERUN_ERRNOS: ReadonlySet<string> = new Set(['1213', '1205']);

/** A connection as the runners hand it out: statements with `?` placeholders escaped by mysql2. */
export type Connection = mysql.PoolConnection;
export type Queryable = Pick<mysql.Pool, 'query'>;

/** The pools of one store. */
export class MysqlConnections {
  readonly main: mysql.Pool;
  readonly control: mysql.Pool;
  private readonly options: MysqlConnectionOptions;

  constructor(options: MysqlConnectionOptions) {
    this.options = options;
    this.main = this.pool(options.poolSize ?? DEFAULT_POOL_SIZE);
    this.control = this.pool(CONTROL_POOL_SIZE);
  }

  /** A connection outside the pools (migrations, the work watcher), set up like theirs. */
  async connect(): Promise<mysql.Connection> {
    const connection = await mysql.createConnection(this.config());
    connection.on('error', (err: unknown) => this.report(err));
    for (const statement of SESSION_SETUP) await connection.query(statement);
    return connection;
  }

  private config(): mysql.ConnectionOptions {
    const { ssl } = this.options;
    return {
      uri: this.options.url,
      ...(ssl === undefined ? {} : { ssl: { rejectUnauthorized: ssl.rejectUnauthorized ?? true, ...(ssl.ca === undefined ? {} : { ca: ssl.ca }) } }),
      connectTimeout: 10_000,
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      // JSON columns arrive as text on MySQL as on MariaDB (where JSON is LONGTEXT); rows.ts parses.
      jsonStrings: true,
      // Epoch ms fit a double exactly; counts and ids stay numbers.
      supportBigNumbers: false,
      charset: 'utf8mb4',
    };
  }

  private pool(size: number): mysql.Pool {
    const pool = mysql.createPool({ ...this.config(), connectionLimit: size, maxIdle: size, idleTimeout: 60_000, waitForConnections: true });
    // The underlying callback pool emits each new connection before handing it out, so these
    // statements queue ahead of the first one a caller sends.
    const raw = (pool as unknown as { pool: CallbackPool }).pool;
    raw.on('connection', (connection: CallbackConnection) => {
      connection.on('error', (err: unknown) => this.report(err));
      for (const statement of SESSION_SETUP) {
        connection.query(statement, (err: unknown) => {
          if (err) this.report(err);
        });
      }
    });
    return pool;
  }

  /** Classifies a background failure and hands it to `onError`; never throws. */
  report(err: unknown): void {
    const classified = classifyMysqlError(err);
    const storeError = classified instanceof StoreError ? classified : new StoreError('fatal', classified.message, { cause: classified });
    try {
      this.options.onError?.(storeError);
    } catch {
      // A failing error handler must not turn a dropped connection into a crash.
    }
  }

  /** Ends both pools; idempotent. */
  async end(): Promise<void> {
    await Promise.all([this.main, this.control].map((pool) => pool.end().catch(() => undefined)));
  }
}

/**
 * Runs `work` inside BEGIN … COMMIT on one connection of `pool` and returns its result. A deadlock or
 * lock wait timeout re-runs the whole transaction (up to TRANSACTION_RUNS, with jitter); any other
 * failure rolls back and is thrown classified. A connection that failed is destroyed, not reused:
 * its session state is unknown. Writes are not re-run after a dropped connection, since whether
 * they committed is unknown.
 */
export async function inTransaction<T>(pool: mysql.Pool, work: (connection: Connection) => Promise<T>): Promise<T> {
  for (let run = 1; ; run++) {
    let connection: Connection;
    try {
      connection = await pool.getConnection();
    } catch (err) {
      throw classifyMysqlError(err);
    }
    let healthy = true;
    try {
      try {
        await connection.query('START TRANSACTION');
      } catch (err) {
        // Nothing was sent but BEGIN: a connection the server dropped while it sat in the pool
        // (restart, timeout) is discarded and the transaction runs on a fresh one.
        healthy = false;
        const classified = classifyMysqlError(err);
        if (classified instanceof StoreError && classified.errorClass === 'retryable' && run < TRANSACTION_RUNS) continue;
        throw classified;
      }
      const result = await work(connection);
      await connection.query('COMMIT');
      return result;
    } catch (err) {
      const classified = classifyMysqlError(err);
      try {
        await connection.query('ROLLBACK');
      } catch {
        healthy = false;
      }
      const rerun = classified instanceof StoreError && classified.driverCode !== undefined && RERUN_ERRNOS.has(classified.driverCode);
      if (!rerun || run >= TRANSACTION_RUNS) throw classified;
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
    await sleep(RETRY_BASE_MS * 2 ** (run - 1) * (0.5 + 0.5 * Math.random()));
  }
}

/**
 * One statement outside an explicit transaction (reads, heartbeats), classified; run once more on a
 * retryable failure, since the pool has dropped the broken connection by then. Only for statements
 * that may safely run twice.
 */
export async function runRead<R>(pool: Queryable, sql: string, values: unknown[] = []): Promise<R[]> {
  try {
    const [rows] = await pool.query(sql, values);
    return rows as R[];
  } catch (err) {
    const classified = classifyMysqlError(err);
    if (!(classified instanceof StoreError) || classified.errorClass !== 'retryable') throw classified;
    try {
      const [rows] = await pool.query(sql, values);
      return rows as R[];
    } catch (again) {
      throw classifyMysqlError(again);
    }
  }
}

/** One statement on a connection inside `inTransaction`; errors are classified by the runner. */
export async function run<R = unknown>(connection: Connection, sql: string, values: unknown[] = []): Promise<R[]> {
  const [rows] = await connection.query(sql, values);
  return rows as R[];
}

/** The affected-row count of a write run inside `inTransaction`. */
export async function write(connection: Connection, sql: string, values: unknown[] = []): Promise<number> {
  const [result] = await connection.query(sql, values);
  return (result as mysql.ResultSetHeader).affectedRows;
}
