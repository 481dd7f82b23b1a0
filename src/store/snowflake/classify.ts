/**
 * The one place that turns a `snowflake-sdk` failure into a classified `StoreError` (classify once,
 * where the error happens). Owns the mapping only; never retries, logs or reports.
 *
 * Two questions per failure: may the same call succeed later (`retryable`), and did the statement
 * certainly not commit (`outcomeKnown`)? A server answer with an error code means the statement was
 * refused or rolled back, so re-running it is safe; a network failure leaves the outcome unknown,
 * which the driver resolves by reading its write token instead of blindly running the write again.
 */
import { FleetError, StoreError, type StoreErrorClass } from '../../errors.js';

/**
 * Server codes after which the same statement may succeed: 000625 (too many statements waiting for
 * a table lock; the waiter limit of 20–50 per table), 000630 (statement timeout, ours:
 * STATEMENT_TIMEOUT_IN_SECONDS), 000604 (cancelled), 000607/000608 (warehouse busy or resuming),
 * 390114 and 390112 (session expired or gone: the session is reopened), 000650 (lock timeout).
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['000625', '000630', '000604', '000607', '000608', '000650', '390114', '390112', '390111']);

/**
 * Driver codes of requests that never got a usable answer: 401001 network error, 401002 request
 * failed, 401003 a non-JSON answer (a proxy's error page). The statement may or may not have run.
 */
const NETWORK_CODES: ReadonlySet<string> = new Set(['401001', '401002', '401003']);

/** Socket-level failures reported by Node before or instead of the server answering. */
const RETRYABLE_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ESOCKETTIMEDOUT',
]);

/** Lock waits and timeouts named only in the message (codes vary between Snowflake releases). */
const RETRYABLE_MESSAGES: readonly RegExp[] = [/number of waiters for this lock exceeds/i, /lock.*(timed out|timeout|not yet been released)/i, /conflict/i];

/** A classified Snowflake failure: the class, and whether the statement certainly did not commit. */
export class SnowflakeStoreError extends StoreError {
  /** `true`: the server refused or rolled back the statement, so nothing of it committed. */
  readonly outcomeKnown: boolean;

  constructor(errorClass: StoreErrorClass, message: string, options: { cause?: unknown; driverCode?: string; outcomeKnown: boolean }) {
    super(errorClass, message, options);
    this.outcomeKnown = options.outcomeKnown;
  }
}

/** The class of a Snowflake failure, from its code, errno and message. */
export function snowflakeErrorClass(code: string | undefined, message: string): { errorClass: StoreErrorClass; outcomeKnown: boolean } {
  if (code !== undefined && NETWORK_CODES.has(code)) return { errorClass: 'retryable', outcomeKnown: false };
  if (code !== undefined && RETRYABLE_ERRNO.has(code)) return { errorClass: 'retryable', outcomeKnown: false };
  if (code !== undefined && RETRYABLE_CODES.has(code)) return { errorClass: 'retryable', outcomeKnown: true };
  if (RETRYABLE_MESSAGES.some((p) => p.test(message))) return { errorClass: 'retryable', outcomeKnown: true };
  // SQL compilation errors (001003 syntax, 002003 missing object, 000904 invalid identifier),
  // permissions (003001) and everything unknown: an operator must look.
  return { errorClass: 'fatal', outcomeKnown: code !== undefined && /^\d{6}$/.test(code) && !code.startsWith('40') };
}

/** Any thrown value as the error a store method may raise; FleetErrors pass through unchanged. */
export function classifySnowflakeError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const code = driverCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const { errorClass, outcomeKnown } = snowflakeErrorClass(code, message);
  // The driver's messages quote the statement, never credentials; the first line is enough for logs.
  const firstLine = message.split('\n')[0] ?? message;
  return new SnowflakeStoreError(errorClass, `snowflake: ${firstLine}${code === undefined ? '' : ` (${code})`}`, {
    cause: err,
    outcomeKnown,
    ...(code === undefined ? {} : { driverCode: code }),
  });
}

/** True when a classified error says the statement certainly did not commit. */
export function outcomeKnown(err: unknown): boolean {
  return err instanceof SnowflakeStoreError ? err.outcomeKnown : false;
}

/** `err.code` as a string (Snowflake codes, errno names), else the cause's code. */
function driverCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (typeof code === 'number') return String(code).padStart(6, '0');
  }
  return undefined;
}
