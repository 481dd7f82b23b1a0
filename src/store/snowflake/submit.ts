/**
 * Submits on Snowflake: checks, idempotency answers and the insert, all or none. Keys are unique per
 * type without a unique index: existing keys are read first (duplicate or ConflictError, writing
 * nothing); keyed steps are then inserted `staged` and promoted by one UPDATE that refuses them all
 * if any key was taken meanwhile, in which case they are removed and the submit starts over, now
 * answered by the step that won. The promotion passes the gate of its keys (gate.ts), so two
 * submits of one key never both see it free, on Snowflake and on the emulator alike. Steps without keys are
 * inserted `pending` directly. Owns that flow; the SQL is in queries.ts.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, ValidationError } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { canonicalJson } from '../json.js';
import type { Json, StepSubmitParams, StepSubmitResult } from '../store.js';
import { assertNoDuplicateKeys, submissionProblems } from '../submission-checks.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import type { SfNames } from './names.js';
import { eventsFromWriteSql, keysTakenSql, promoteSql, submitSql, unstageSql, type SubmitItem } from './queries.js';
import { checkDependencies, parentIds } from '../workflow.js';
import { checkParents, insertEdges } from './workflow.js';
import { outcomeKnown } from './classify.js';
import { keySlots, throughGate } from './gate.js';

type Submission = Omit<StepSubmitParams, 'now'>;
type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** Items per statement: keeps each statement's text and binds well under Snowflake's limits. */
const CHUNK = 500;

function prepare(steps: readonly Submission[], now: number | undefined): SubmitItem[] {
  const problems: { loc: string; msg: string }[] = [];
  const items: SubmitItem[] = [];
  const ids = steps.map(() => newStepId(now ?? Date.now()));
  steps.forEach((s, i) => {
    const args = JSON.stringify(s.args ?? null);
    const metadata = JSON.stringify(s.metadata ?? {});
    const found = submissionProblems(s, args, metadata);
    problems.push(...found.map((p) => ({ loc: steps.length > 1 ? String(i) : p.loc, msg: steps.length > 1 ? `${p.loc}: ${p.msg}` : p.msg })));
    items.push({
      stepId: ids[i]!,
      type: s.type,
      args,
      metadata,
      priority: s.priority ?? 0,
      maxRetries: s.maxRetries,
      timeoutMs: s.timeoutMs,
      idempotencyKey: s.idempotencyKey ?? null,
      delayMs: s.delayMs ?? 0,
      dependsOn: null,
      deadline: s.deadline ?? null,
      detail: JSON.stringify({ priority: s.priority ?? 0, max_retries: s.maxRetries, ...(s.deadline == null ? {} : { deadline: s.deadline }) }),
    });
  });
  if (problems.length > 0) throw new ValidationError(steps.length > 1 ? 'invalid steps' : 'invalid step', problems);
  assertNoDuplicateKeys(steps);
  return items;
}

const keyOf = (type: string, key: string) => JSON.stringify([type, key]);

/** Existing steps by `(type, key)`: their id and canonical args. */
async function taken(run: Run, n: SfNames, items: readonly SubmitItem[]): Promise<Map<string, { stepId: string; args: string }>> {
  const pairs = items.filter((i) => i.idempotencyKey !== null).map((i) => [i.type, i.idempotencyKey!] as const);
  const found = new Map<string, { stepId: string; args: string }>();
  for (let i = 0; i < pairs.length; i += CHUNK) {
    const { rows } = await run(keysTakenSql(n, pairs.slice(i, i + CHUNK)), { idempotent: true });
    for (const r of rows) {
      const k = keyOf(String(r['TYPE']), String(r['IDEMPOTENCY_KEY']));
      const existing = found.get(k);
      // Two rows with one key can only come from outside FLEET-Q; the oldest id answers.
      if (existing === undefined || String(r['STEP_ID']) < existing.stepId)
        found.set(k, { stepId: String(r['STEP_ID']), args: canonicalJson(r['ARGS'] as Json) });
    }
  }
  return found;
}

function answer(items: readonly SubmitItem[], existing: Map<string, { stepId: string; args: string }>): (StepSubmitResult | undefined)[] {
  const conflicts: string[] = [];
  const results = items.map((item, i) => {
    if (item.idempotencyKey === null) return undefined;
    const e = existing.get(keyOf(item.type, item.idempotencyKey));
    if (e === undefined) return undefined;
    if (e.args === canonicalJson(JSON.parse(item.args) as Json)) return { stepId: e.stepId, outcome: 'duplicate' as const };
    conflicts.push(
      `${items.length > 1 ? `item ${i}: ` : ''}step ${e.stepId} of type '${item.type}' already uses idempotency key '${item.idempotencyKey}' with different args`,
    );
    return undefined;
  });
  if (conflicts.length > 0) throw new ConflictError(conflicts.join('; '));
  return results;
}

/** Rounds of a keyed submit that lost a key race before it gives up (each loser sees the winner next round). */
const KEY_RACE_ROUNDS = 5;

/** Submits `steps` (see the file header); results in input order. */
export async function submitSteps(run: Run, n: SfNames, steps: readonly Submission[], now: number | undefined, inBatch = true): Promise<StepSubmitResult[]> {
  if (steps.length === 0) return [];
  const prepared = prepare(steps, now);
  const resolved = checkDependencies(steps, inBatch);
  for (let round = 1; ; round++) {
    const results = answer(prepared, await taken(run, n, prepared));
    // Parents by id, once every item has one (a duplicate answers with the existing step's id).
    const earlier: string[] = [];
    const parentsOf = prepared.map((item, i) => {
      const parents = parentIds(resolved[i] ?? [], earlier);
      earlier.push(results[i]?.stepId ?? item.stepId);
      return parents;
    });
    const items = prepared.map((item, i) => (parentsOf[i]!.length === 0 ? item : { ...item, dependsOn: JSON.stringify(parentsOf[i]) }));
    const fresh = items.filter((_, i) => results[i] === undefined);
    if (fresh.length === 0) return results as StepSubmitResult[];
    const freshIdx = items.map((_, i) => i).filter((i) => results[i] === undefined);
    if (freshIdx.some((i) => parentsOf[i]!.length > 0)) {
      await checkParents(
        run,
        n,
        items.map((_, i) => (results[i] === undefined ? parentsOf[i]! : [])),
        inBatch,
        new Set(fresh.map((f) => f.stepId)),
      );
      await insertEdges(
        run,
        n,
        freshIdx.flatMap((i) => parentsOf[i]!.map((p) => [items[i]!.stepId, p] as const)),
      );
    }
    const token = randomUUID();
    const keyed = fresh.some((i) => i.idempotencyKey !== null);
    for (let i = 0; i < fresh.length; i += CHUNK) await run(submitSql(n, fresh.slice(i, i + CHUNK), token, now ?? null, keyed));
    if (keyed) {
      const slots = keySlots(fresh.filter((i) => i.idempotencyKey !== null).map((i) => [i.type, i.idempotencyKey!] as const));
      let promoted: number;
      try {
        promoted = await throughGate(run, n, slots, token, async (tx) => (await tx(promoteSql(n, token))).updated);
      } catch (err) {
        // Rolled back, or its COMMIT's answer was lost: the steps are either still staged (removed
        // here, so the caller's retry starts clean) or promoted (their events are copied here).
        await run(unstageSql(n, token), { idempotent: true }).catch(() => undefined);
        if (!outcomeKnown(err)) await run(eventsFromWriteSql(n, token), { idempotent: true }).catch(() => undefined);
        throw err;
      }
      if (promoted === 0) {
        await run(unstageSql(n, token), { idempotent: true });
        if (round >= KEY_RACE_ROUNDS) throw new ConflictError('idempotency keys kept being taken by concurrent submits; try again');
        continue;
      }
    }
    await run(eventsFromWriteSql(n, token), { idempotent: true });
    return items.map((item, i) => results[i] ?? { stepId: item.stepId, outcome: 'submitted' });
  }
}
