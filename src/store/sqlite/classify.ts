/**
 * The one place that turns a better-sqlite3 failure into a classified `StoreError` (Oban style:
 * classify once, where the error happens). Owns the mapping only; never retries or logs.
 */
import { FleetError, StoreError, type StoreErrorClass } from '../../errors.js';

/**
 * Extended result codes as better-sqlite3 reports them (`SqliteError.code`). The BUSY and LOCKED
 * families (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_LOCKED_SHAREDCACHE`, …) mean another connection holds
 * the file for now, so the same call may succeed later.
 */
const RETRYABLE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_LOCKED'] as const;

/**
 * A unique index refused the row. The primary key counts too: a step id collision is as much a
 * duplicate as an idempotency key one, and neither is fixed by retrying the same values.
 */
const CONFLICT_CODES: ReadonlySet<string> = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/** The class of a driver error code; `fatal` for anything not known to be transient or a conflict. */
export function sqliteErrorClass(code: string | undefined): StoreErrorClass {
  if (code === undefined) return 'fatal';
  if (RETRYABLE_PREFIXES.some((prefix) => code.startsWith(prefix))) return 'retryable';
  if (CONFLICT_CODES.has(code)) return 'conflict';
  return 'fatal';
}

/**
 * Any thrown value as the error a store method may raise: `FleetError`s (including an already
 * classified `StoreError`) pass through unchanged; everything else becomes a `StoreError`.
 */
export function classifySqliteError(err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const code = driverCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const errorClass = sqliteErrorClass(code);
  return new StoreError(errorClass, `sqlite: ${message}`, code === undefined ? { cause: err } : { cause: err, driverCode: code });
}

/** `SqliteError.code` when present (a closed connection throws a plain TypeError without one). */
function driverCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}
