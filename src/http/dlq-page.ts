/**
 * The paging rule of the dead-letter listing (GET /admin/dlq, `client.dlq`, `fleet-q dlq list`):
 * limit 1–500 (default 50), offset ≥ 0 (default 0). One rule for all three entry points; it reads
 * nothing and writes nothing.
 */
import { ValidationError, type FleetErrorItem } from '../errors.js';
import type { DlqListParams } from '../store/store.js';

export const DLQ_DEFAULT_LIMIT = 50;
export const DLQ_MAX_LIMIT = 500;

/**
 * Checks `limit` and `offset`, given as numbers (client) or decimal strings (query string, CLI flags);
 * absent values take their defaults. Throws `ValidationError` naming every bad field.
 */
export function dlqPage(raw: { readonly limit?: unknown; readonly offset?: unknown }): DlqListParams {
  const problems: FleetErrorItem[] = [];
  const limit = integerField('limit', raw.limit, DLQ_DEFAULT_LIMIT, 1, DLQ_MAX_LIMIT, `must be an integer from 1 to ${DLQ_MAX_LIMIT}`, problems);
  const offset = integerField('offset', raw.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'must be an integer ≥ 0', problems);
  if (problems.length > 0) throw new ValidationError(problems.map((p) => `${p.loc} ${p.msg}`).join('; '), problems);
  return { limit, offset };
}

function integerField(loc: string, value: unknown, fallback: number, min: number, max: number, msg: string, problems: FleetErrorItem[]): number {
  if (value === undefined || value === '') return fallback;
  // Only plain decimal digits: `1e2`, ` 5`, `0x10` and `5.0` are refused rather than guessed at.
  const n = typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    problems.push({ loc, msg });
    return fallback;
  }
  return n;
}
