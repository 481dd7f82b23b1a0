/**
 * The store-level checks of a submission, shared by every driver so all stores refuse the same
 * input the same way (the conformance suite holds them to it). These guard the database, not the
 * producer: args schemas, type registration and defaults are decided earlier, in src/steps/submission.ts.
 */
import { ValidationError, type FleetErrorItem } from '../errors.js';
import { containsNul, MAX_PAYLOAD_BYTES } from './json.js';
import type { StepSubmitParams } from './store.js';

type Submission = Omit<StepSubmitParams, 'now'>;

const INT32_MAX = 2 ** 31 - 1;
/** A time zone offset is at most 14 h: a deadline written in 1970 or 9999 may lie that far outside. */
const OFFSET_MS = 14 * 3_600_000;
const MIN_DEADLINE_MS = -OFFSET_MS;
const MAX_DEADLINE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999) + OFFSET_MS;

/** What is wrong with one submission, given its serialised args and metadata; empty when nothing. */
export function submissionProblems(s: Submission, argsJson: string, metadataJson: string): FleetErrorItem[] {
  const problems: FleetErrorItem[] = [];
  if (typeof s.type !== 'string' || s.type === '') problems.push({ loc: 'type', msg: 'must be a non-empty string' });
  const priority = s.priority ?? 0;
  if (!Number.isInteger(priority) || Math.abs(priority) > INT32_MAX) problems.push({ loc: 'priority', msg: 'must be a 32-bit integer' });
  if (!Number.isInteger(s.maxRetries) || s.maxRetries < 0 || s.maxRetries > INT32_MAX) {
    problems.push({ loc: 'maxRetries', msg: 'must be a non-negative integer' });
  }
  if (!Number.isSafeInteger(s.timeoutMs) || s.timeoutMs < 1) problems.push({ loc: 'timeoutMs', msg: 'must be a positive integer' });
  const delayMs = s.delayMs ?? 0;
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) problems.push({ loc: 'delayMs', msg: 'must be a non-negative integer' });
  const deadline = s.deadline ?? null;
  // Years 1970 to 9999 as written, with up to 14 h of offset either side: every store's time type
  // holds them, and no real deadline lies outside.
  if (deadline !== null && (!Number.isSafeInteger(deadline) || deadline < MIN_DEADLINE_MS || deadline > MAX_DEADLINE_MS)) {
    problems.push({ loc: 'deadline', msg: 'must be a time between 1970 and 9999 (epoch ms) or null' });
  }
  const key = s.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key === '')) problems.push({ loc: 'idempotencyKey', msg: 'must be a non-empty string or null' });
  const bytes = Buffer.byteLength(argsJson, 'utf8') + Buffer.byteLength(metadataJson, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) problems.push({ loc: 'args', msg: `args + metadata are ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}` });
  if (containsNul(argsJson) || containsNul(metadataJson)) problems.push({ loc: 'args', msg: 'must not contain U+0000' });
  return problems;
}

/** Refuses (ValidationError) two batch items sharing `(type, idempotency_key)`, listing every index involved. */
export function assertNoDuplicateKeys(steps: readonly Submission[]): void {
  const byKey = new Map<string, number[]>();
  steps.forEach((s, i) => {
    const key = s.idempotencyKey ?? null;
    if (key === null) return;
    const k = JSON.stringify([s.type, key]);
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const problems: FleetErrorItem[] = [];
  for (const indexes of byKey.values()) {
    if (indexes.length < 2) continue;
    for (const i of indexes) problems.push({ loc: String(i), msg: `same (type, idempotency_key) as item ${indexes.filter((j) => j !== i).join(', ')}` });
  }
  if (problems.length === 0) return;
  problems.sort((a, b) => Number(a.loc) - Number(b.loc));
  throw new ValidationError('duplicate (type, idempotency_key) within one batch', problems);
}
