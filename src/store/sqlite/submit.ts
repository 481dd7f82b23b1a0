/**
 * Submitting steps to SQLite: one step or an all-or-none batch, each with its `submitted` event, and
 * the idempotency rule of DESIGN §3. Validation happens before the transaction; the inserts run
 * inside the driver's `BEGIN IMMEDIATE`, so the idempotency lookup and the insert cannot interleave
 * with another process. Must not decide args schemas or defaults: callers resolve those.
 */
import { ConflictError, ValidationError, type FleetErrorItem } from '../../errors.js';
import { newStepId } from '../../ids.js';
import { canonicalJson } from '../json.js';
import { assertNoDuplicateKeys, submissionProblems } from '../submission-checks.js';
import type { Json, StepSubmitParams, StepSubmitResult } from '../store.js';
import { insertEvent, type SqliteContext } from './context.js';
import { gateForParents, insertEdges } from './workflow.js';

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
  readonly deadline: number | null;
}

type Submission = Omit<StepSubmitParams, 'now'>;

/** Serialises one submission, or lists what is wrong with it (each `loc` prefixed with `prefix`). */
export function serialiseSubmission(s: Submission, prefix = ''): { prepared?: PreparedSubmission; problems: FleetErrorItem[] } {
  const argsJson = JSON.stringify(s.args ?? null);
  const metadataJson = JSON.stringify(s.metadata ?? {});
  const problems = submissionProblems(s, argsJson, metadataJson).map((p) => ({ loc: `${prefix}${p.loc}`, msg: p.msg }));
  if (problems.length > 0) return { problems };
  const prepared: PreparedSubmission = {
    type: s.type,
    argsJson,
    argsCanonical: canonicalJson(s.args ?? null),
    metadataJson,
    priority: s.priority ?? 0,
    maxRetries: s.maxRetries,
    timeoutMs: s.timeoutMs,
    idempotencyKey: s.idempotencyKey ?? null,
    delayMs: s.delayMs ?? 0,
    deadline: s.deadline ?? null,
  };
  return { prepared, problems };
}

/** Checks a whole batch: every item's problems and every `(type, idempotency_key)` shared by two items. */
export function serialiseBatch(steps: readonly Submission[]): PreparedSubmission[] {
  const problems: FleetErrorItem[] = [];
  const prepared: PreparedSubmission[] = [];
  steps.forEach((s, i) => {
    const one = serialiseSubmission(s);
    problems.push(...one.problems.map((p) => ({ loc: String(i), msg: `${p.loc}: ${p.msg}` })));
    if (one.prepared !== undefined) prepared.push(one.prepared);
  });
  if (problems.length > 0) throw new ValidationError('invalid steps in batch', problems);
  assertNoDuplicateKeys(steps);
  return prepared;
}

/**
 * Inserts one prepared step and its event, or answers `duplicate` for an identical earlier submit.
 * Throws `ConflictError` when the key is taken by different args. Run inside a write transaction.
 */
export function insertSubmission(
  ctx: SqliteContext,
  p: PreparedSubmission,
  now: number,
  itemLabel = '',
  parents: readonly string[] = [],
  index: number | null = null,
): StepSubmitResult {
  if (p.idempotencyKey !== null) {
    const existing = ctx.statement('stepFindByIdempotencyKey').get({ type: p.type, idempotencyKey: p.idempotencyKey }) as
      { step_id: string; args: string } | undefined;
    if (existing !== undefined) {
      if (canonicalJson(JSON.parse(existing.args) as Json) === p.argsCanonical) return { stepId: existing.step_id, outcome: 'duplicate' };
      throw new ConflictError(
        `${itemLabel}step ${existing.step_id} of type '${p.type}' already uses idempotency key '${p.idempotencyKey}' with different args`,
      );
    }
  }
  const waitingOn = gateForParents(ctx, parents, index);
  const stepId = newStepId(now);
  const gate = parents.length === 0 ? {} : { dependsOn: JSON.stringify(parents), waitingOn };
  ctx.statement(parents.length === 0 ? 'stepInsert' : 'stepInsertWithParents').run({
    stepId,
    type: p.type,
    args: p.argsJson,
    metadata: p.metadataJson,
    priority: p.priority,
    maxRetries: p.maxRetries,
    runAfter: now + p.delayMs,
    timeoutMs: p.timeoutMs,
    idempotencyKey: p.idempotencyKey,
    deadline: p.deadline,
    now,
    ...gate,
  });
  insertEdges(ctx, stepId, parents);
  // The same detail on every store; the parents are on the row (depends_on) and in the edges.
  insertEvent(ctx, {
    stepId,
    ts: now,
    kind: 'submitted',
    podId: null,
    attempt: 0,
    detail: { priority: p.priority, max_retries: p.maxRetries, ...(p.deadline === null ? {} : { deadline: p.deadline }) },
  });
  return { stepId, outcome: 'submitted' };
}
