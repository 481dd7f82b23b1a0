/**
 * Submitting steps to SQLite: one step or an all-or-none batch, each with its `submitted` event, and
 * the idempotency rule of DESIGN §3. Validation happens before the transaction; the inserts run
 * inside the driver's `BEGIN IMMEDIATE`, so the idempotency lookup and the insert cannot interleave
 * with another process. Must not decide args schemas or defaults: callers resolve those.
 */
import { ConflictError, ValidationError, type FleetErrorItem } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { canonicalJson, MAX_PAYLOAD_BYTES } from '../json.js';
import type { Json, StepSubmitParams, StepSubmitResult } from '../store.js';
import { insertEvent, type SqliteContext } from './context.js';

/** A submission checked and serialised, ready to insert. */
export interface PreparedSubmission {
  readonly type: string;
  readonly argsJson: string;
  readonly argsCanonical: string;
  readonly metadataJson: string;
  readonly priority: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly idempotencyKey: string | null;
  readonly delayMs: number;
}

type Submission = Omit<StepSubmitParams, 'now'>;

/** Serialises one submission, or lists what is wrong with it (each `loc` prefixed with `prefix`). */
export function prepareSubmission(s: Submission, prefix = ''): { prepared?: PreparedSubmission; problems: FleetErrorItem[] } {
  const problems: FleetErrorItem[] = [];
  const loc = (field: string) => `${prefix}${field}`;
  if (typeof s.type !== 'string' || s.type === '') problems.push({ loc: loc('type'), msg: 'must be a non-empty string' });
  const priority = s.priority ?? 0;
  if (!Number.isSafeInteger(priority)) problems.push({ loc: loc('priority'), msg: 'must be an integer' });
  if (!Number.isSafeInteger(s.maxRetries) || s.maxRetries < 0) problems.push({ loc: loc('maxRetries'), msg: 'must be a non-negative integer' });
  if (!Number.isSafeInteger(s.timeoutMs) || s.timeoutMs < 1) problems.push({ loc: loc('timeoutMs'), msg: 'must be a positive integer' });
  const delayMs = s.delayMs ?? 0;
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) problems.push({ loc: loc('delayMs'), msg: 'must be a non-negative integer' });
  const key = s.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key === '')) problems.push({ loc: loc('idempotencyKey'), msg: 'must be a non-empty string or null' });
  const argsJson = JSON.stringify(s.args ?? null);
  const metadataJson = JSON.stringify(s.metadata ?? {});
  const bytes = Buffer.byteLength(argsJson, 'utf8') + Buffer.byteLength(metadataJson, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) problems.push({ loc: loc('args'), msg: `args + metadata are ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}` });
  if (problems.length > 0) return { problems };
  const prepared: PreparedSubmission = {
    type: s.type,
    argsJson,
    argsCanonical: canonicalJson(s.args ?? null),
    metadataJson,
    priority,
    maxRetries: s.maxRetries,
    timeoutMs: s.timeoutMs,
    idempotencyKey: key,
    delayMs,
  };
  return { prepared, problems };
}

/** Checks a whole batch: every item's problems and every `(type, idempotency_key)` shared by two items. */
export function prepareBatch(steps: readonly Submission[]): PreparedSubmission[] {
  const problems: FleetErrorItem[] = [];
  const prepared: PreparedSubmission[] = [];
  steps.forEach((s, i) => {
    const one = prepareSubmission(s);
    problems.push(...one.problems.map((p) => ({ loc: String(i), msg: `${p.loc}: ${p.msg}` })));
    if (one.prepared !== undefined) prepared.push(one.prepared);
  });
  if (problems.length > 0) throw new ValidationError('invalid steps in batch', problems);
  const byKey = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    if (p.idempotencyKey === null) return;
    const k = JSON.stringify([p.type, p.idempotencyKey]);
    byKey.set(k, [...(byKey.get(k) ?? []), i]);
  });
  const duplicates: FleetErrorItem[] = [];
  for (const indexes of byKey.values()) {
    if (indexes.length < 2) continue;
    for (const i of indexes) {
      const others = indexes.filter((j) => j !== i).join(', ');
      duplicates.push({ loc: String(i), msg: `same (type, idempotency_key) as item ${others}` });
    }
  }
  if (duplicates.length > 0) {
    duplicates.sort((a, b) => Number(a.loc) - Number(b.loc));
    throw new ValidationError('duplicate (type, idempotency_key) within one batch', duplicates);
  }
  return prepared;
}

/**
 * Inserts one prepared step and its event, or answers `duplicate` for an identical earlier submit.
 * Throws `ConflictError` when the key is taken by different args. Run inside a write transaction.
 */
export function insertSubmission(ctx: SqliteContext, p: PreparedSubmission, now: number, itemLabel = ''): StepSubmitResult {
  if (p.idempotencyKey !== null) {
    const existing = ctx.statement('stepFindByIdempotencyKey').get({ type: p.type, idempotencyKey: p.idempotencyKey }) as
      | { step_id: string; args: string }
      | undefined;
    if (existing !== undefined) {
      if (canonicalJson(JSON.parse(existing.args) as Json) === p.argsCanonical) return { stepId: existing.step_id, outcome: 'duplicate' };
      throw new ConflictError(
        `${itemLabel}step ${existing.step_id} of type '${p.type}' already uses idempotency key '${p.idempotencyKey}' with different args`,
      );
    }
  }
  const stepId = newStepId(now);
  ctx.statement('stepInsert').run({
    stepId,
    type: p.type,
    args: p.argsJson,
    metadata: p.metadataJson,
    priority: p.priority,
    maxRetries: p.maxRetries,
    runAfter: now + p.delayMs,
    timeoutMs: p.timeoutMs,
    idempotencyKey: p.idempotencyKey,
    now,
  });
  insertEvent(ctx, { stepId, ts: now, kind: 'submitted', podId: null, attempt: 0, detail: { priority: p.priority, max_retries: p.maxRetries } });
  return { stepId, outcome: 'submitted' };
}
