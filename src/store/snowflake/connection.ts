/**
 * Snowflake sessions for one store: a small pool for steps, reads and sweeps, and one session of its
 * own for heartbeats and leadership, so a slow claim or completion never delays proof of life. Each
 * session runs one statement at a time (Snowflake shares a session's transaction between everything
 * sent on it, and the emulator is not safe with two requests in flight on one session). Owns
 * sessions, session settings and statement retries; must not hold queue SQL (queries.ts).
 *
 * Retries: a statement the server refused with a retryable code (lock waiter limit 000625, lock or
 * statement timeout) certainly did not commit and is run again after a jittered pause; a network
 * failure leaves the outcome unknown and is re-run only when the caller says the statement is
 * idempotent (its conditions make a second run a no-op). Everything else surfaces, classified.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import './sdk-env.js';
import snowflake from 'snowflake-sdk';
import { StoreError } from '../../errors.js';
import { classifySnowflakeError, outcomeKnown } from './classify.js';

/** What identifies and authenticates a session. Secrets stay in here: never logged, never in errors. */
export interface SnowflakeLogin {
  readonly account: string;
  readonly username: string;
  readonly database: string;
  readonly warehouse?: string;
  readonly role?: string;
  readonly password?: string;
  /** Key-pair (JWT) authentication: a PKCS#8 PEM file, optionally encrypted with `privateKeyPassphrase`. */
  readonly privateKeyPath?: string;
  readonly privateKeyPassphrase?: string;
  /** A non-default endpoint (private link, a proxy, the emulator in tests), e.g. `https://acme.privatelink.snowflakecomputing.com`. */
  readonly accessUrl?: string;
}

/** Session settings sent once per session (ALTER SESSION); see README "Snowflake". */
export interface SessionSettings {
  /** LOCK_TIMEOUT seconds: how long a statement may wait for a table lock before it is aborted. */
  readonly lockTimeoutSeconds: number;
  /** STATEMENT_TIMEOUT_IN_SECONDS: the server aborts any longer statement. */
  readonly statementTimeoutSeconds: number;
}

/** One statement: text with `?` placeholders and its values in order. */
export interface Statement {
  readonly sqlText: string;
  readonly binds: readonly Bind[];
}

export type Bind = string | number | boolean | null;

/** A statement's answer: its rows (column names as Snowflake returns them, upper case) and DML count. */
export interface Answer {
  readonly rows: Record<string, unknown>[];
  readonly updated: number;
}

/** Attempts of a statement refused with a retryable code (lock waits, 000625), with jitter between. */
const RETRY_ATTEMPTS = 6;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 2_000;

let configured = false;
/** The SDK logs to a file and the console by default; it must never write a statement or login detail. */
function configureSdk(): void {
  if (configured) return;
  configured = true;
  snowflake.configure({ logLevel: 'OFF', additionalLogToConsole: false } as Parameters<typeof snowflake.configure>[0]);
}

/** One Snowflake session, one statement at a time. */
class Session {
  private connection: snowflake.Connection | undefined;
  private connecting: Promise<snowflake.Connection> | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly login: SnowflakeLogin,
    private readonly settings: SessionSettings,
  ) {}

  /**
   * Runs `statement` after the session's previous one has finished. `inTransaction`: a failure
   * keeps the connection, so the caller's ROLLBACK ends the transaction on the session that holds it.
   */
  run(statement: Statement, inTransaction = false): Promise<Answer> {
    const result = this.tail.then(() => this.execute(statement, inTransaction));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async execute(statement: Statement, inTransaction = false): Promise<Answer> {
    const connection = await this.open();
    try {
      return await new Promise<Answer>((resolve, reject) => {
        connection.execute({
          sqlText: statement.sqlText,
          binds: statement.binds as snowflake.Binds,
          complete: (err, stmt, rows) => {
            if (err) reject(err);
            else resolve({ rows: (rows ?? []) as Record<string, unknown>[], updated: Number(stmt.getNumUpdatedRows() ?? 0) || 0 });
          },
        });
      });
    } catch (err) {
      const classified = classifySnowflakeError(err);
      // A session the server no longer knows, or a broken socket: open a new one next time.
      if (!inTransaction && (!outcomeKnown(classified) || /^39011[1-4]$/.test((classified as StoreError).driverCode ?? ''))) this.discard();
      throw classified;
    }
  }

  private async open(): Promise<snowflake.Connection> {
    if (this.connection !== undefined) return this.connection;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<snowflake.Connection> {
    configureSdk();
    const l = this.login;
    const options: Record<string, unknown> = {
      account: l.account,
      username: l.username,
      database: l.database,
      application: 'FLEET-Q',
      // Array binds would be staged through PUT above this many values; FLEET-Q binds scalars only.
      arrayBindingThreshold: 1_000_000,
      clientSessionKeepAlive: false,
      ...(l.warehouse === undefined ? {} : { warehouse: l.warehouse }),
      ...(l.role === undefined ? {} : { role: l.role }),
      ...(l.accessUrl === undefined ? {} : { accessUrl: l.accessUrl }),
      ...(l.privateKeyPath === undefined
        ? { password: l.password }
        : {
            authenticator: 'SNOWFLAKE_JWT',
            privateKeyPath: l.privateKeyPath,
            ...(l.privateKeyPassphrase === undefined ? {} : { privateKeyPass: l.privateKeyPassphrase }),
          }),
    };
    const connection = snowflake.createConnection(options as unknown as snowflake.ConnectionOptions);
    try {
      await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw classifySnowflakeError(err);
    }
    this.connection = connection;
    const s = this.settings;
    // One statement for all three; UTC so TIMESTAMP_LTZ values print and compare the same on every pod.
    await this.execute({
      sqlText: `ALTER SESSION SET TIMEZONE = 'UTC' LOCK_TIMEOUT = ${Math.floor(s.lockTimeoutSeconds)} STATEMENT_TIMEOUT_IN_SECONDS = ${Math.floor(s.statementTimeoutSeconds)}`,
      binds: [],
    }).catch((err: unknown) => {
      this.discard();
      throw err;
    });
    return connection;
  }

  /** Forgets the connection (closing it in the background). */
  discard(): void {
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) connection.destroy(() => undefined);
  }

  async close(): Promise<void> {
    await this.tail;
    await this.connecting?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) await new Promise<void>((resolve) => connection.destroy(() => resolve()));
  }
}

/** A fixed set of sessions handed out one caller at a time. */
export class SessionPool {
  private readonly idle: Session[];
  private readonly waiters: ((session: Session) => void)[] = [];
  private readonly all: Session[];

  constructor(login: SnowflakeLogin, settings: SessionSettings, size: number) {
    this.all = Array.from({ length: Math.max(1, size) }, () => new Session(login, settings));
    this.idle = [...this.all];
  }

  /** Runs `work` with one session to itself (e.g. a claim and its read-back on the same session). */
  async with<T>(work: (run: (statement: Statement, options?: RunOptions) => Promise<Answer>) => Promise<T>): Promise<T> {
    const session = this.idle.pop() ?? (await new Promise<Session>((resolve) => this.waiters.push(resolve)));
    try {
      return await work((statement, options) => runWithRetries(session, statement, options));
    } finally {
      const next = this.waiters.shift();
      if (next !== undefined) next(session);
      else this.idle.push(session);
    }
  }

  /** Runs one statement on any session. */
  run(statement: Statement, options?: RunOptions): Promise<Answer> {
    return this.with((run) => run(statement, options));
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((s) => s.close()));
  }
}

/** How a statement may be retried. */
export interface RunOptions {
  /** A second run is harmless (a read, or a write whose conditions match nothing once applied): network failures are retried too. */
  readonly idempotent?: boolean;
  /**
   * The statement is part of an explicit transaction: it is never re-run alone (the emulator aborts
   * the whole transaction on a conflict; the caller retries the transaction) and a failure keeps the
   * session, so the caller's ROLLBACK reaches the transaction (see `inTransaction`).
   */
  readonly inTransaction?: boolean;
  /** Drop the session when this statement fails (a ROLLBACK that failed: closing the session ends the transaction). */
  readonly dropSessionOnFailure?: boolean;
}

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/**
 * Runs `work` between BEGIN and COMMIT on the one session of `run` (from `SessionPool.with`);
 * `work`'s statements must go through the `run` it is given. On any failure the transaction is
 * rolled back before the error is rethrown, and a session whose ROLLBACK fails is dropped, so no
 * transaction is ever left open holding locks (Snowflake keeps a detached transaction's locks for
 * minutes). Not retried here: the caller decides whether the whole transaction runs again.
 */
export async function inTransaction<T>(run: Run, work: (run: Run) => Promise<T>): Promise<T> {
  const inside: Run = (statement, options) => run(statement, { ...options, inTransaction: true });
  try {
    await inside({ sqlText: 'BEGIN', binds: [] });
    const result = await work(inside);
    await inside({ sqlText: 'COMMIT', binds: [] });
    return result;
  } catch (err) {
    await run({ sqlText: 'ROLLBACK', binds: [] }, { inTransaction: true, dropSessionOnFailure: true }).catch(() => undefined);
    throw err;
  }
}

async function runWithRetries(session: Session, statement: Statement, options: RunOptions = {}): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await session.run(statement, options.inTransaction === true);
    } catch (err) {
      if (options.dropSessionOnFailure === true) session.discard();
      if (options.inTransaction === true) throw err;
      const retryable = err instanceof StoreError && err.errorClass === 'retryable' && (outcomeKnown(err) || options.idempotent === true);
      if (!retryable || attempt >= RETRY_ATTEMPTS) throw err;
      const ceiling = Math.min(RETRY_BASE_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
      await sleep(Math.ceil(ceiling * (0.5 + Math.random() * 0.5)));
    }
  }
}
