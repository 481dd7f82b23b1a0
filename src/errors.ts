/**
 * The one error hierarchy of FLEET-Q: every error a caller may act on is a `FleetError` with a stable
 * `code`. HTTP maps codes to statuses, the CLI maps them to exit codes; nothing matches on messages.
 */

/** Stable machine-readable codes; the HTTP `error_type` of each is the same string. */
export type FleetErrorCode =
  | 'validation_error'
  | 'config_error'
  | 'not_found'
  | 'conflict'
  | 'not_leader'
  | 'unauthorized'
  | 'permission_denied'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'database_error'
  | 'schema_too_new'
  | 'pod_fenced'
  | 'internal_error';

/** One problem of a validation or configuration error: where it is and what is wrong. */
export interface FleetErrorItem {
  /** Variable name, field path or batch index the problem belongs to. */
  readonly loc: string;
  readonly msg: string;
}

/** Base class of every error FLEET-Q raises on purpose. */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  readonly errors: readonly FleetErrorItem[] | undefined;

  constructor(code: FleetErrorCode, message: string, options?: { cause?: unknown; errors?: readonly FleetErrorItem[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.errors = options?.errors;
  }
}

/** Bad input: refused before anything is written. */
export class ValidationError extends FleetError {
  constructor(message: string, errors?: readonly FleetErrorItem[]) {
    super('validation_error', message, errors === undefined ? undefined : { errors });
  }
}

/** Invalid `FLEET_Q_*` configuration; `errors` lists every problem at once. */
export class ConfigError extends FleetError {
  constructor(errors: readonly FleetErrorItem[]) {
    super('config_error', `invalid configuration:\n${errors.map((e) => `  ${e.loc}: ${e.msg}`).join('\n')}`, { errors });
  }
}

export class NotFoundError extends FleetError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class ConflictError extends FleetError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/**
 * How a driver classifies a database failure, once, where it happens:
 * - `retryable`: transient (busy/locked file, serialization failure, dropped connection); the same call may succeed later.
 * - `conflict`: a constraint the caller violated (unique idempotency key); retrying will not help.
 * - `fatal`: anything else (bad schema, disk full, permission); needs an operator.
 */
export type StoreErrorClass = 'retryable' | 'conflict' | 'fatal';

/** A database failure, classified by the driver that saw it. */
export class StoreError extends FleetError {
  readonly errorClass: StoreErrorClass;
  /** The driver's own error code (e.g. `SQLITE_BUSY`, `40001`), for logs. */
  readonly driverCode: string | undefined;

  constructor(errorClass: StoreErrorClass, message: string, options?: { cause?: unknown; driverCode?: string }) {
    super('database_error', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.errorClass = errorClass;
    this.driverCode = options?.driverCode;
  }
}

/** The database holds a schema newer than this build knows: refuse to touch it. */
export class SchemaTooNewError extends FleetError {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super('schema_too_new', `database schema version ${found} is newer than this FLEET-Q build knows (${known}); upgrade FLEET-Q`);
  }
}

/** The pod's own `pod_health` row is gone or `down`: it was declared dead and must re-register before claiming. */
export class PodFencedError extends FleetError {
  constructor(readonly podId: string) {
    super('pod_fenced', `pod ${podId} is not registered as up; it must re-register`);
  }
}

/** True when the error is a `StoreError` worth retrying. */
export function isRetryableStoreError(err: unknown): boolean {
  return err instanceof StoreError && err.errorClass === 'retryable';
}

/**
 * Thrown by a step handler to dead-letter the step at once, whatever retries are left
 * (a bad input that no retry can fix). Exported to users.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}
