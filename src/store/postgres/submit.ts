/**
 * Submitting to PostgreSQL: checks and serialises a batch (one submit is a batch of one), then runs
 * the one `INSERT … SELECT FROM unnest(…)` statement of queries.ts that writes every step and its
 * `submitted` event, so 10,000 steps cost one round trip. Owns the idempotency outcome of each item;
 * must not decide defaults (callers resolve maxRetries and timeoutMs) or args schemas.
 */
import { ConflictError, StoreError, ValidationError, type FleetErrorItem } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { assertNoDuplicateKeys, submissionProblems } from '../submission-checks.js';
import type { StepSubmitParams, StepSubmitResult } from '../store.js';
import { checkDependencies, gateOf, parentIds, type ResolvedParent } from '../workflow.js';
import { constraintOf } from './classify.js';
import { runQuery, type PgConnections } from './connection.js';
import type { PgNames } from './names.js';
import { edgesInsertSql, gateSetSql, parentStatusSql } from './workflow.js';

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
    deadlines: [] as (number | null)[],
  };
  steps.forEach((s, i) => {
    const itemProblems = submissionProblems(s, JSON.stringify(s.args ?? null), JSON.stringify(s.metadata ?? {}));
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
    arrays.deadlines.push(s.deadline ?? null);
  });
  if (problems.length > 0) throw new ValidationError('invalid steps', problems);
  assertNoDuplicateKeys(steps);
  arrays.ids = steps.map(() => newStepId(now ?? Date.now()));
  const a = arrays;
  return [now ?? null, a.ids, a.types, a.args, a.metadata, a.priorities, a.maxRetries, a.timeouts, a.keys, a.delays, a.deadlines];
}

/**
 * Submits `steps` all or none in one statement; results in input order. Throws `ConflictError`
 * (writing nothing) when an item's key is taken by a step with different args.
 */
export async function submitSteps(
  connections: PgConnections,
  names: PgNames,
  sql: string,
  steps: readonly Submission[],
  now: number | undefined,
  inBatch = true,
): Promise<StepSubmitResult[]> {
  if (steps.length === 0) return [];
  const values = parameters(steps, now);
  const resolved = checkDependencies(steps, inBatch);
  const ids = values[1] as string[];
  for (let run = 1; ; run++) {
    let rows: SubmitRow[];
    try {
      if (resolved.some((parents) => parents.length > 0)) return await submitWithParents(connections, names, sql, values, steps, resolved, inBatch);
      rows = (await runQuery<SubmitRow>(connections.main, { name: 'fleet_q_step_submit', text: sql, values })).rows;
    } catch (err) {
      const keyRace = err instanceof StoreError && err.driverCode === '23505' && constraintOf(err) === `${names.prefix}st_idem_ux`;
      if (keyRace && run < KEY_RACE_RUNS) continue;
      throw err;
    }
    return outcomes(rows, ids, steps);
  }
}

/**
 * A batch with parents, in one transaction: the submit statement, then the edges of the inserted
 * items, then their parents' statuses (share-locked, read after the edges exist; see
 * `edgesInsertSql`), then each item's declared parents and gate. Any refusal rolls everything back.
 */
async function submitWithParents(
  connections: PgConnections,
  names: PgNames,
  sql: string,
  values: unknown[],
  steps: readonly Submission[],
  resolved: readonly ResolvedParent[][],
  inBatch: boolean,
): Promise<StepSubmitResult[]> {
  return connections.inTransaction(async (client) => {
    const rows = (await client.query<SubmitRow>({ name: 'fleet_q_step_submit', text: sql, values })).rows;
    const results = outcomes(rows, values[1] as string[], steps);
    const earlier: string[] = [];
    const items = results.map((r, i) => {
      const parents = parentIds(resolved[i]!, earlier);
      earlier.push(r.stepId);
      return { index: i, stepId: r.stepId, parents, inserted: r.outcome === 'submitted' };
    });
    const gated = items.filter((item) => item.inserted && item.parents.length > 0);
    if (gated.length > 0) {
      const edges = gated.flatMap((item) => item.parents.map((p) => [item.stepId, p] as const));
      await client.query(edgesInsertSql(names), [edges.map((e) => e[0]), edges.map((e) => e[1])]);
      const allParents = [...new Set(edges.map((e) => e[1]))];
      const found = (await client.query<{ step_id: string; status: string }>(parentStatusSql(names), [allParents])).rows;
      const statuses = new Map(found.map((r) => [r.step_id, r.status]));
      const gates = gated.map((item) => gateOf(item.parents, statuses, inBatch ? item.index : null));
      await client.query(gateSetSql(names), [gated.map((g) => g.stepId), gated.map((g) => JSON.stringify(g.parents)), gates]);
    }
    return results;
  });
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
  return rows.map((r) => (r.existing_id !== null ? { stepId: r.existing_id, outcome: 'duplicate' } : { stepId: ids[r.ord - 1]!, outcome: 'submitted' }));
}
