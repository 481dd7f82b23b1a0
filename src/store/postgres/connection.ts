/**
 * The connections of one PostgreSQL store: a main pool for steps, reads and sweeps, a separate small
 * pool reserved for heartbeats and leadership (so a burst of claims and completions can never make a
 * live pod miss its heartbeat), one connection for claims (`CLAIM_SESSION` says why), and the client
 * settings the LISTEN connection shares. Owns
 * connection settings, error reporting and the query runner; must not hold SQL of the queue.
 *
 * Nothing here may crash the process: an idle client that loses its server emits `error` on its
 * pool, which is classified and reported through `onError`; the pool drops that client and the next
 * call connects afresh.
 *
 * Connections are sessions: LISTEN, named prepared statements and the timeouts sent as startup
 * parameters all need one, so behind PgBouncer use session pooling (transaction pooling breaks all three).
 */
import pg from 'pg';
import { StoreError } from '../../errors.js';
import { classifyPgError } from './classify.js';

/** What `openPostgresStore` passes on about connecting. */
export interface PgConnectionOptions {
  readonly url: string;
  /** Main pool size; default 10. */
  readonly poolSize?: number;
  readonly ssl?: { readonly rejectUnauthorized?: boolean; readonly ca?: string };
  /** Background connection failures (idle clients, the LISTEN client), already classified. */
  readonly onError?: (err: StoreError) => void;
}

/**
 * Server-side limits per connection role. A runtime statement is short by design (no transaction is
 * held while a step runs), so 30 s means something is wrong; the client-side timeout, 5 s later,
 * catches a half-open socket the server can no longer answer on. Heartbeats get 10 s: a heartbeat
 * stuck longer than that is better reported failed, so self-fencing can start counting.
 */
const LIMITS = {
  main: { statementTimeoutMs: 30_000, queryTimeoutMs: 35_000 },
  claim: { statementTimeoutMs: 30_000, queryTimeoutMs: 35_000 },
  control: { statementTimeoutMs: 10_000, queryTimeoutMs: 15_000 },
  listen: { statementTimeoutMs: 10_000, queryTimeoutMs: 15_000 },
} as const;

/** Heartbeat + leader check may overlap; two connections are enough for both. */
const CONTROL_POOL_SIZE = 2;

/**
 * The claim's session always runs its prepared statement's generic plan, planned once per text
 * (`claimListLimit`) and again only when the table's statistics change. Its LIMITs are constants
 * and its other parameters (pod, types) move no estimate that matters, so that plan is the one a
 * custom plan would be, without planning each claim: about 1 ms of the server's CPU beside a large
 * history. Left to choose, PostgreSQL kept planning afresh once a queue that had been idle filled
 * up (it compares against the costs of its first five plans): a claim beside a million rows with
 * 10,000 due took 2.1 ms p50 where the generic plan takes 1.0 (`npm run bench -- --scale`). One
 * connection: the supervisor has at most one claim in flight.
 *
 * Bitmap scans are off in this session: a claim's lists want their first n rows in index order,
 * which a bitmap scan cannot give, so with one the claim sorts every pending row to take n. The
 * planner chose that only when it believed almost no step was pending, which is when the
 * statistics are missing or older than the backlog (a queue filled by submits too small to
 * analyze after, before autovacuum gets to it) and when it costs most. Measured on 4,000 pending
 * steps without statistics, one claim of 8: 4.4 ms with the bitmap plan, 0.6 ms walking
 * st_ready_deadline_ix. Plain index scans stay available, so a plan that finds a pod's rare type
 * through its index still can; the flow-limited claims run on the main pool and keep bitmaps.
 */
export const CLAIM_SESSION = { size: 1, options: '-c plan_cache_mode=force_generic_plan -c enable_bitmapscan=off' } as const;
const DEFAULT_POOL_SIZE = 10;

export type ConnectionRole = keyof typeof LIMITS;

/** The pools of one store and how to make more clients like theirs. */
export class PgConnections {
  readonly main: pg.Pool;
  readonly control: pg.Pool;
  /** The claims outside a transaction (`CLAIM_SESSION`). */
  readonly claim: pg.Pool;
  private readonly options: PgConnectionOptions;

  constructor(options: PgConnectionOptions) {
    this.options = options;
    this.main = new pg.Pool({
      ...this.clientConfig('main'),
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    });
    this.control = new pg.Pool({
      ...this.clientConfig('control'),
      max: CONTROL_POOL_SIZE,
      // Kept open between heartbeats (30 s apart by default) instead of reconnecting for each.
      idleTimeoutMillis: 0,
      allowExitOnIdle: true,
    });
    this.claim = new pg.Pool({
      ...this.clientConfig('claim'),
      options: CLAIM_SESSION.options,
      max: CLAIM_SESSION.size,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    });
    for (const pool of this.pools()) pool.on('error', (err) => this.report(err));
  }

  /** Settings for one client of `role`; the LISTEN client is made from these too. */
  clientConfig(role: ConnectionRole): pg.ClientConfig {
    const { ssl } = this.options;
    const limits = LIMITS[role];
    return {
      connectionString: this.options.url,
      ...(ssl === undefined ? {} : { ssl: { rejectUnauthorized: ssl.rejectUnauthorized ?? true, ...(ssl.ca === undefined ? {} : { ca: ssl.ca }) } }),
      application_name: `fleet-q ${role}`,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      statement_timeout: limits.statementTimeoutMs,
      query_timeout: limits.queryTimeoutMs,
      idle_in_transaction_session_timeout: 30_000,
    };
  }

  /** Classifies a background failure and hands it to `onError`; never throws. */
  report(err: unknown): void {
    const classified = classifyPgError(err);
    const storeError = classified instanceof StoreError ? classified : new StoreError('fatal', classified.message, { cause: classified });
    try {
      this.options.onError?.(storeError);
    } catch {
      // A failing error handler must not turn a dropped connection into a crash.
    }
  }

  /**
   * Runs `work` on a client of the main pool checked out for a session of its own (the migration
   * under its advisory lock). A checked-out client has no pool listener, so its 'error' events are
   * reported here: unheard, a dropped connection would crash the process. After a failure the
   * session state is unknown (aborted transaction, broken socket), so the client is discarded
   * instead of returned. Errors come out classified (FleetErrors as they are).
   */
  async withSession<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.checkedOut(async (client, discard) => {
      try {
        return await work(client);
      } catch (err) {
        discard();
        throw err;
      }
    });
  }

  /**
   * Runs `work` in one transaction on a client of the main pool (a claim under flow locks, a submit
   * with workflow edges): BEGIN, `work`, COMMIT, or ROLLBACK when anything fails. The client goes
   * back to the pool after a clean rollback (a refused submit is a normal outcome) and is discarded
   * only when the rollback itself failed. Errors come out classified, as `withSession`'s.
   */
  async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.checkedOut(async (client, discard) => {
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(discard);
        throw err;
      }
    });
  }

  private async checkedOut<T>(work: (client: pg.PoolClient, discard: () => void) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.main.connect();
    } catch (err) {
      throw classifyPgError(err);
    }
    const onError = (err: Error) => this.report(err);
    client.on('error', onError);
    let discarded = false;
    try {
      return await work(client, () => {
        discarded = true;
      });
    } catch (err) {
      throw classifyPgError(err);
    } finally {
      client.removeListener('error', onError);
      client.release(discarded);
    }
  }

  /** Ends every pool; idempotent. */
  async end(): Promise<void> {
    await Promise.all(this.pools().map((pool) => (pool.ended ? undefined : pool.end())));
  }

  private pools(): pg.Pool[] {
    return [this.main, this.control, this.claim];
  }
}

/**
 * Runs one statement, classifying any failure. `idempotent` statements (reads, heartbeats) are run
 * once more on a retryable failure: the pool has dropped the broken client by then, so a connection
 * killed between calls costs the caller nothing. Writes are not repeated, since a dropped connection
 * leaves unknown whether they committed.
 */
export async function runQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  query: pg.QueryConfig,
  options: { readonly idempotent?: boolean } = {},
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(query);
  } catch (err) {
    const classified = classifyPgError(err);
    if (options.idempotent !== true || !(classified instanceof StoreError) || classified.errorClass !== 'retryable') throw classified;
    try {
      return await pool.query<R>(query);
    } catch (again) {
      throw classifyPgError(again);
    }
  }
}
