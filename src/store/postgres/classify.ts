/**
 * The one place that turns a `pg` failure into a classified `StoreError` (Oban style: classify once,
 * where the error happens). Owns the mapping only; never retries, logs or reports.
 *
 * Server errors carry a SQLSTATE (`err.code`, five characters); socket errors carry a Node errno
 * code (`ECONNRESET`, …); and a few client-side failures of `pg`/`pg-pool` carry neither, only a
 * message, so those messages are matched here and nowhere else.
 */
import { FleetError, StoreError, type StoreErrorClass } from '../../errors.js';

/**
 * SQLSTATEs after which the same call may succeed: the server went away or restarted (57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), too many connections (53300),
 * a serialization failure or deadlock victim (40001, 40P01), and a statement cancelled by our own
 * `statement_timeout` or `lock_timeout` (57014, 55P03), which is contention, not a bad statement.
 */
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '57014', '55P03']);

/** SQLSTATE class 08: connection exceptions (08000, 08003, 08006, 08001, 08004, …). */
const CONNECTION_CLASS = '08';

/** 23505 unique_violation: an idempotency key or step id already taken; retrying the same values will not help. */
const CONFLICT_SQLSTATES: ReadonlySet<string> = new Set(['23505']);

/** Socket-level failures reported by Node before or instead of the server answering. */
const RETRYABLE_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * Client-side failures of `pg` and `pg-pool` that have no code: a dropped or never-established
 * connection, a pool that could not hand out a client in time, a client-side query timeout.
 */
const RETRYABLE_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/i,
  /is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /^Query read timeout/i,
  /^connection timeout/i,
];

/** The class of a SQLSTATE or errno code; `fatal` for anything not known to be transient or a conflict. */
export function pgErrorClass(code: string | undefined, message = ''): StoreErrorClass {
  if (code !== undefined) {
    if (CONFLICT_SQLSTATES.has(code)) return 'conflict';
    if (RETRYABLE_SQLSTATES.has(code) || RETRYABLE_ERRNO.has(code)) return 'retryable';
    if (isSqlState(code) && code.startsWith(CONNECTION_CLASS)) return 'retryable';
    if (isSqlState(code)) return 'fatal';
  }
  return RETRYABLE_MESSAGES.some((pattern) => pattern.test(message)) ? 'retryable' : 'fatal';
}

/**
 * Any thrown value as the error a store method may raise: `FleetError`s (including an already
 * classified `StoreError`) pass through unchanged; everything else becomes a `StoreError`.
 */
export function classifyPgError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const code = driverCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const errorClass = pgErrorClass(code, message);
  const where = constraintOf(err);
  const text = `postgres: ${message}${code === undefined ? '' : ` (${code}${where === undefined ? '' : ` on ${where}`})`}`;
  return new StoreError(errorClass, text, code === undefined ? { cause: err } : { cause: err, driverCode: code });
}

/** The unique index a 23505 named, so callers can tell an idempotency race from anything else. */
export function constraintOf(err: unknown): string | undefined {
  const cause = err instanceof StoreError ? err.cause : err;
  if (typeof cause !== 'object' || cause === null || !('constraint' in cause)) return undefined;
  const constraint = (cause as { constraint: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

function isSqlState(code: string): boolean {
  return /^[0-9A-Z]{5}$/.test(code);
}

/** `err.code` when it is a string: a SQLSTATE from the server or an errno from the socket. */
function driverCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}
