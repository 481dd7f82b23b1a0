/**
 * JSON helpers shared by every driver: canonical serialisation, so that "identical args" for
 * idempotency does not depend on key order, and the size limits of DESIGN §5.
 */
import { ValidationError } from '../errors.js';
import { MAX_PROGRESS_BYTES, type Json } from './store.js';

/** Args + metadata serialised must fit in 64 KiB. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** A step's stored result must fit in 256 KiB. */
export const MAX_RESULT_BYTES = 256 * 1024;

/**
 * True when serialised JSON holds U+0000 (JSON.stringify writes it as the escape `\u0000`, while a
 * literal backslash before `u0000` is written `\\u0000`). PostgreSQL's `jsonb` cannot store it, so
 * every store refuses it as bad input rather than one of them failing with a database error.
 */
export function containsNul(json: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\u0000/.test(json);
}

/** JSON with object keys sorted recursively: equal values give equal strings. */
export function canonicalJson(value: Json): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]!);
    return out;
  }
  return value;
}

/**
 * Serialises a step's result, refusing one JSON cannot hold (a BigInt, a cycle), one over
 * `MAX_RESULT_BYTES` or one holding U+0000 (which PostgreSQL's jsonb cannot store; every store
 * refuses it alike). Undefined is stored as null, a `Date` as its ISO string (as `JSON.stringify`
 * does). This is the only serialisation a handler's result goes through on its way to the row.
 */
export function serialiseResult(result: Json | undefined): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(result ?? null);
  } catch (err) {
    throw new ValidationError(`step result is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`);
  }
  text ??= 'null'; // a lone function or symbol
  // Bytes are counted only when the string could exceed the limit (UTF-8 takes ≤ 3 bytes per UTF-16 unit).
  const bytes = text.length * 3 > MAX_RESULT_BYTES ? Buffer.byteLength(text, 'utf8') : text.length;
  if (bytes > MAX_RESULT_BYTES) {
    throw new ValidationError(
      `step result is ${bytes} bytes serialised; the limit is ${MAX_RESULT_BYTES} (256 KiB): store large outputs elsewhere and return a reference`,
    );
  }
  if (containsNul(text)) throw new ValidationError('step result must not contain U+0000');
  return text;
}

/**
 * Serialises a handler's `ctx.progress(value)`: JSON only, at most `MAX_PROGRESS_BYTES`, no U+0000
 * (the same rules as a result, with a limit sized for a status line so progress cannot bloat rows).
 */
export function serialiseProgress(progress: Json): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(progress ?? null);
  } catch (err) {
    throw new ValidationError(`step progress is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`);
  }
  text ??= 'null';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PROGRESS_BYTES) throw new ValidationError(`step progress is ${bytes} bytes serialised; the limit is ${MAX_PROGRESS_BYTES}`);
  if (containsNul(text)) throw new ValidationError('step progress must not contain U+0000');
  return text;
}
