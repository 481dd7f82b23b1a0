/**
 * The one error shape of the HTTP API (DESIGN §5) and the single mapping into it from `FleetError`
 * codes, fastify's own errors (bad JSON, wrong content type, body too large) and anything unexpected.
 * Owns status codes and `error_type` strings; must not log, decide retries or read the store.
 * Never puts a stack trace or the message of an unexpected error in a body: those go to the log only.
 */
import { FleetError, StoreError, type FleetErrorCode, type FleetErrorItem } from '../errors.js';

/** `error_type` values a client may see (DESIGN §5). */
export type ErrorType =
  | 'validation_error'
  | 'unauthorized'
  | 'permission_denied'
  | 'not_leader'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'database_error'
  | 'internal_error';

/** The body of every non-2xx response. */
export interface ErrorBody {
  readonly detail: string;
  readonly error_type: ErrorType;
  /** ISO-8601 UTC time the error was answered. */
  readonly timestamp: string;
  /** The request path, without its query string. */
  readonly path: string;
  /** Per-field or per-item problems (`loc`: field path, `steps.<i>.<field>` or variable name). */
  readonly errors?: readonly FleetErrorItem[];
}

/** An error translated for the wire: the status to answer and the body to send. */
export interface ErrorResponse {
  readonly statusCode: number;
  readonly body: ErrorBody;
  /** True for errors nobody meant to raise (answered as 500): log them with their stack. */
  readonly unexpected: boolean;
  /** Seconds a client should wait before retrying, when the failure is transient. */
  readonly retryAfterSeconds?: number;
}

const STATUS_OF_CODE: Readonly<Record<FleetErrorCode, readonly [number, ErrorType]>> = {
  validation_error: [400, 'validation_error'],
  not_found: [404, 'not_found'],
  conflict: [409, 'conflict'],
  not_leader: [403, 'not_leader'],
  unauthorized: [401, 'unauthorized'],
  permission_denied: [403, 'permission_denied'],
  payload_too_large: [413, 'payload_too_large'],
  unsupported_media_type: [415, 'unsupported_media_type'],
  database_error: [503, 'database_error'],
  // A database newer than this build is the database's state, not a bug here: 503 like any store failure.
  schema_too_new: [503, 'database_error'],
  // Neither can come from a request; reaching here means a wiring bug.
  config_error: [500, 'internal_error'],
  pod_fenced: [500, 'internal_error'],
  internal_error: [500, 'internal_error'],
};

/** fastify's own error codes (fastify 5 `lib/errors.js`) that a client can cause. */
const FASTIFY_CODES: Readonly<Record<string, readonly [number, ErrorType, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', "unsupported content type; send 'application/json'"],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'validation_error', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'validation_error', 'request body is empty'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'validation_error', 'request body size does not match Content-Length'],
  FST_ERR_VALIDATION: [400, 'validation_error', 'request is invalid'],
};

const TYPE_OF_STATUS: Readonly<Record<number, ErrorType>> = {
  401: 'unauthorized',
  403: 'permission_denied',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The body for `detail`, now. */
export function errorBody(path: string, errorType: ErrorType, detail: string, errors?: readonly FleetErrorItem[]): ErrorBody {
  return {
    detail,
    error_type: errorType,
    timestamp: new Date().toISOString(),
    path,
    ...(errors === undefined || errors.length === 0 ? {} : { errors }),
  };
}

/** Translates any thrown value into the status and body to answer `path` with. */
export function errorResponse(err: unknown, path: string): ErrorResponse {
  if (err instanceof StoreError) return storeErrorResponse(err, path);
  if (err instanceof FleetError) {
    const [statusCode, errorType] = STATUS_OF_CODE[err.code] ?? [500, 'internal_error'];
    const unexpected = statusCode === 500;
    const detail = unexpected ? 'internal server error' : err.message;
    return { statusCode, unexpected, body: errorBody(path, errorType, detail, unexpected ? undefined : err.errors) };
  }
  const framework = frameworkErrorResponse(err, path);
  if (framework !== undefined) return framework;
  return { statusCode: 500, unexpected: true, body: errorBody(path, 'internal_error', 'internal server error') };
}

/**
 * A StoreError is 503 `database_error`, except the `conflict` class: a constraint the request
 * violated, which waiting will not fix, so it is a 409 like the ConflictError drivers raise.
 */
function storeErrorResponse(err: StoreError, path: string): ErrorResponse {
  if (err.errorClass === 'conflict') {
    return { statusCode: 409, unexpected: false, body: errorBody(path, 'conflict', 'the request conflicts with the stored state') };
  }
  const retryable = err.errorClass === 'retryable';
  // The driver's message can name tables and SQL; clients get the class, the log gets the rest.
  const detail = retryable ? 'the database is busy or unreachable; retry shortly' : 'the database failed to answer this request';
  return {
    statusCode: 503,
    unexpected: false,
    body: errorBody(path, 'database_error', detail),
    ...(retryable ? { retryAfterSeconds: 1 } : {}),
  };
}

function frameworkErrorResponse(err: unknown, path: string): ErrorResponse | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  const known = typeof code === 'string' ? FASTIFY_CODES[code] : undefined;
  if (known !== undefined) return { statusCode: known[0], unexpected: false, body: errorBody(path, known[1], known[2]) };
  // Other client errors fastify raises carry a 4xx status and a safe message of its own.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const message = err instanceof Error && err.message !== '' ? err.message : 'bad request';
    return { statusCode, unexpected: false, body: errorBody(path, TYPE_OF_STATUS[statusCode] ?? 'validation_error', message) };
  }
  return undefined;
}

/** The 404 body of a route nobody registered. */
export function unknownRouteBody(method: string, path: string): ErrorBody {
  return errorBody(path, 'not_found', `no route ${method} ${path}`);
}
