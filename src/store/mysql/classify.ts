/**
 * The one place that turns a `mysql2` failure into a classified `StoreError` (classify once, where
 * the error happens). Owns the mapping only; never retries, logs or reports.
 *
 * Server errors carry a numeric `errno` (1213, …) and a `code` name (`ER_LOCK_DEADLOCK`); socket
 * errors carry a Node errno code (`ECONNRESET`, …); mysql2's own client-side failures (closed
 * connection, pool closed) carry a code like `PROTOCOL_CONNECTION_LOST` or only a message.
 */
import { FleetError, StoreError, type StoreErrorClass } from '../../errors.js';

/**
 * Server errors after which the same transaction may succeed: 1213 deadlock victim (InnoDB rolled the
 * whole transaction back), 1205 lock wait timeout, 1040 too many connections, 1053 server shutdown,
 * 1927 connection killed (MariaDB), 2006/2013 server gone / lost (client codes), 3024 query
 * execution interrupted by max_execution_time (MySQL), 1969 statement timeout (MariaDB).
 */
const RETRYABLE_ERRNOS: ReadonlySet<number> = new Set([1213, 1205, 1040, 1053, 1927, 2006, 2013, 3024, 1969]);

/** 1062 duplicate entry on a unique index: an idempotency key or step id already taken. */
const CONFLICT_ERRNOS: ReadonlySet<number> = new Set([1062]);

/** Node socket codes and mysql2's client-side codes for a connection that failed or went away. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
]);

/** mysql2 failures without a code: writing to a closed connection, a closed pool, a connect timeout. */
const RETRYABLE_MESSAGES: readonly RegExp[] = [/closed state/i, /Pool is closed/i, /connect ETIMEDOUT/i, /Connection lost/i];

/** The class of a server errno or a client code; `fatal` for anything not known to be transient or a conflict. */
export function mysqlErrorClass(errno: number | undefined, code: string | undefined, message = ''): StoreErrorClass {
  if (errno !== undefined && CONFLICT_ERRNOS.has(errno)) return 'conflict';
  if (errno !== undefined && RETRYABLE_ERRNOS.has(errno)) return 'retryable';
  if (code !== undefined && RETRYABLE_CODES.has(code)) return 'retryable';
  return RETRYABLE_MESSAGES.some((pattern) => pattern.test(message)) ? 'retryable' : 'fatal';
}

/**
 * Any thrown value as the error a store method may raise: `FleetError`s (including an already
 * classified `StoreError`) pass through unchanged; everything else becomes a `StoreError` whose
 * `driverCode` is the server errno (as text) or the client code.
 */
export function classifyMysqlError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const errno = numberField(err, 'errno');
  const code = stringField(err, 'code');
  const message = err instanceof Error ? err.message : String(err);
  const errorClass = mysqlErrorClass(errno, code, message);
  const driverCode = errno !== undefined && errno > 0 ? String(errno) : code;
  const text = `mysql: ${message}${driverCode === undefined ? '' : ` (${driverCode}${code !== undefined && code !== driverCode ? ` ${code}` : ''})`}`;
  return new StoreError(errorClass, text, driverCode === undefined ? { cause: err } : { cause: err, driverCode });
}

function numberField(err: unknown, name: string): number | undefined {
  if (typeof err !== 'object' || err === null || !(name in err)) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : undefined;
}

function stringField(err: unknown, name: string): string | undefined {
  if (typeof err !== 'object' || err === null || !(name in err)) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
