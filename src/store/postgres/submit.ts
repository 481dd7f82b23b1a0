/**
 * Submitting to PostgreSQL: checks and serialises a batch (one submit is a batch of one), then runs
 * the one `INSERT … SELECT FROM unnest(…)` statement of queries.ts that writes every step and its
 * `submitted` event, so 10,000 steps cost one round trip. Owns the idempotency outcome of each item;
 * must not decide defaults (callers resolve maxRetries and timeoutMs) or args schemas.
 */
import type pg from 'pg';
import { ConflictError, StoreError, ValidationError, type FleetErrorItem } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { MAX_PAYLOAD_BYTES } from '../json.js';
import type { StepSubmitParams, StepSubmitResult } from '../store.js';
import { constraintOf } from './classify.js';
import { runQuery } from './connection.js';
import type { PgNames } from './names.js';

type Submission = Omit<StepSubmitParams, 'now'>;

interface SubmitRow {
  readonly ord: number;
  readonly existing_id: string | null;
  readonly same_args: boolean | null;
  readonly inserted: number;
}

/**
 * How often a batch is re-run when another writer committed one of its idempotency keys after the
 * statement's snapshot (the unique index refuses the insert; the re-run sees that row). Each race
 * needs a new concurrent writer of the same key, so a few re-runs always suffice in practice.
 */
const KEY_RACE_RUNS = 5;

/**
 * True when serialised JSON holds U+0000 (JSON.stringify writes it as the escape `\u0000`, while a
 * literal backslash before `u0000` is written `\\u0000`). `jsonb` cannot store it, so it is refused
 * as bad input rather than left to fail as a database error.
 */
export function containsNul(json: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\u0000/.test(json);
}

/** The statement's ten parameters: `now` and nine arrays, one element per item. */
function parameters(steps: readonly Submission[], now: number | undefined): unknown[] {
  const problems: FleetErrorItem[] = [];
  const arrays = {
    ids: [] as string[],
    types: [] as string[],
    args: [] as string[],
    metadata: [] as string[],
    priorities: [] as number[],
    maxRetries: [] as number[],
    timeouts: [] as number[],
    keys: [] as (string | null)[],
    delays: [] as number[],
  };
  steps.forEach((s, i) => {
    const itemProblems = problemsOf(s);
    problems.push(...itemProblems.map((p) => ({ loc: String(i), msg: `${p.loc}: ${p.msg}` })));
    if (itemProblems.length > 0) return;
    arrays.types.push(s.type);
    arrays.args.push(JSON.stringify(s.args ?? null));
    arrays.metadata.push(JSON.stringify(s.metadata ?? {}));
    arrays.priorities.push(s.priority ?? 0);
    arrays.maxRetries.push(s.maxRetries);
    arrays.timeouts.push(s.timeoutMs);
    arrays.keys.push(s.idempotencyKey ?? null);
    arrays.delays.push(s.delayMs ?? 0);
  });
  if (problems.length > 0) throw new ValidationError('invalid steps', problems);
  duplicateKeys(steps);
  // Ids made in one millisecond sort randomly; sorted, they keep the batch's order for equal
  // priority and created_ts, so a batch is claimed in the order it was submitted.
  arrays.ids = steps.map(() => newStepId(now ?? Date.now())).sort();
  const a = arrays;
  return [now ?? null, a.ids, a.types, a.args, a.metadata, a.priorities, a.maxRetries, a.timeouts, a.keys, a.delays];
}

function problemsOf(s: Submission): FleetErrorItem[] {
  const problems: FleetErrorItem[] = [];
  if (typeof s.type !== 'string' || s.type === '') problems.push({ loc: 'type', msg: 'must be a non-empty string' });
  const priority = s.priority ?? 0;
  if (!Number.isInteger(priority) || Math.abs(priority) > 2 ** 31 - 1) problems.push({ loc: 'priority', msg: 'must be a 32-bit integer' });
  if (!Number.isInteger(s.maxRetries) || s.maxRetries < 0 || s.maxRetries > 2 ** 31 - 1) {
    problems.push({ loc: 'maxRetries', msg: 'must be a non-negative integer' });
  }
  if (!Number.isSafeInteger(s.timeoutMs) || s.timeoutMs < 1) problems.push({ loc: 'timeoutMs', msg: 'must be a positive integer' });
  const delayMs = s.delayMs ?? 0;
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) problems.push({ loc: 'delayMs', msg: 'must be a non-negative integer' });
  const key = s.idempotencyKey ?? null;
  if (key !== null && (typeof key !== 'string' || key === '')) problems.push({ loc: 'idempotencyKey', msg: 'must be a non-empty string or null' });
  const argsJson = JSON.stringify(s.args ?? null);
  const metadataJson = JSON.stringify(s.metadata ?? {});
  const bytes = Buffer.byteLength(argsJson, 'utf8') + Buffer.byteLength(metadataJson, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) problems.push({ loc: 'args', msg: `args + metadata are ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES}` });
  if (containsNul(argsJson) || containsNul(metadataJson)) problems.push({ loc: 'args', msg: 'must not contain U+0000' });
  return problems;
}

/** Refuses two items sharing `(type, idempotency_key)`, listing every index involved. */
function duplicateKeys(steps: readonly Submission[]): void {
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

/**
 * Submits `steps` all or none in one statement; results in input order. Throws `ConflictError`
 * (writing nothing) when an item's key is taken by a step with different args.
 */
export async function submitSteps(
  pool: pg.Pool,
  names: PgNames,
  sql: string,
  steps: readonly Submission[],
  now: number | undefined,
): Promise<StepSubmitResult[]> {
  if (steps.length === 0) return [];
  const values = parameters(steps, now);
  const ids = values[1] as string[];
  for (let run = 1; ; run++) {
    let rows: SubmitRow[];
    try {
      rows = (await runQuery<SubmitRow>(pool, { name: 'fleet_q_step_submit', text: sql, values })).rows;
    } catch (err) {
      const keyRace = err instanceof StoreError && err.driverCode === '23505' && constraintOf(err) === `${names.prefix}st_idem_ux`;
      if (keyRace && run < KEY_RACE_RUNS) continue;
      throw err;
    }
    return outcomes(rows, ids, steps);
  }
}

function outcomes(rows: readonly SubmitRow[], ids: readonly string[], steps: readonly Submission[]): StepSubmitResult[] {
  const conflicts = rows.filter((r) => r.existing_id !== null && r.same_args !== true);
  if (conflicts.length > 0) {
    const labels = conflicts.map((r) => {
      const s = steps[r.ord - 1]!;
      const item = steps.length > 1 ? `item ${r.ord - 1}: ` : '';
      return `${item}step ${r.existing_id} of type '${s.type}' already uses idempotency key '${s.idempotencyKey}' with different args`;
    });
    throw new ConflictError(labels.join('; '));
  }
  return rows.map((r) =>
    r.existing_id !== null ? { stepId: r.existing_id, outcome: 'duplicate' } : { stepId: ids[r.ord - 1]!, outcome: 'submitted' },
  );
}
