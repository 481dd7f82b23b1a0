/**
 * Claims and the fenced writes made on behalf of a claim (complete, fail, release), each with its
 * one audit event, and the `stale_write_rejected` record when the fence matches nothing. Every
 * function runs inside the driver's `BEGIN IMMEDIATE` transaction; the decisions that depend on the
 * row (retry or dead-letter, backoff) are made by the statements themselves. Must not open
 * transactions or retry.
 */
import { PodFencedError } from '../../errors.js';
import { allowance, limitedTypes, windowStart, type FlowUsage } from '../flow.js';
import type { ClaimedStepRow, ClaimRef, FencedWriteOutcome, FencedWriteResult, Json, StepClaimParams, StepFailParams, StepReleaseParams } from '../store.js';
import { outcomeOf } from '../store.js';
import { insertEvent, insertPlainEvents, policyParams, type SqliteContext } from './context.js';
import { byClaimOrder, toClaimedStepRow, toStepRow, type ClaimedRecord, type StepRecord } from './rows.js';
import { cascadeFailure, openGates, openGatesOfMany } from './workflow.js';

/** What the look before a claim saw. */
export interface ClaimLook {
  /** Some step of the types is claimable at `now`. */
  readonly claimable: boolean;
  /** The earliest future `run_after` of any pending step; null: none. */
  readonly nextDue: number | null;
}

/**
 * The look before a claim: throws `PodFencedError` like the claim would, else says whether a step of
 * `types` (a JSON array) is claimable at `now`. Reads only; the claim re-checks.
 */
export function lookBeforeClaim(ctx: SqliteContext, podId: string, types: string, now: number): ClaimLook {
  const look = ctx.statement('stepClaimPrecheck').get({ podId, types, now }) as { pod_status: string | null; claimable: number; next_due: number | null };
  if (look.pod_status !== 'up') throw new PodFencedError(podId);
  return { claimable: look.claimable === 1, nextDue: look.next_due };
}

/**
 * Claims up to `limit` steps; refuses (claiming nothing) when the pod is not registered as up. Each
 * flow-limited type is claimed on its own, up to what its usage allows (the write lock serializes
 * every claim of the file, so the count cannot go stale before the claim), then the other types
 * fill what is left; within each, claim order holds.
 */
export function claimSteps(ctx: SqliteContext, params: StepClaimParams, now: number): ClaimedStepRow[] {
  const pod = ctx.statement('podStatusGet').get({ podId: params.podId }) as { status: string } | undefined;
  if (pod === undefined || pod.status !== 'up') throw new PodFencedError(params.podId);
  let left = Math.max(0, Math.floor(params.limit));
  if (left === 0 || params.types.length === 0) return [];
  const claimed: ClaimedRecord[] = [];
  const limited = limitedTypes(params);
  for (const limit of limited) {
    const start = windowStart(limit, now);
    const usage = ctx.statement('stepFlowUsage').get({ type: limit.type, windowStart: start }) as FlowUsage;
    const n = Math.min(left, allowance(limit, usage));
    if (n === 0) continue;
    const got = ctx
      .statement('stepClaimLimited')
      .all({ podId: params.podId, types: JSON.stringify([limit.type]), limit: n, now, windowStart: start }) as ClaimedRecord[];
    claimed.push(...got);
    left -= got.length;
  }
  const free = params.types.filter((t) => !limited.some((l) => l.type === t));
  if (left > 0 && free.length > 0) {
    claimed.push(...(ctx.statement('stepClaim').all({ podId: params.podId, types: JSON.stringify(free), limit: left, now }) as ClaimedRecord[]));
  }
  claimed.sort(byClaimOrder);
  insertPlainEvents(
    ctx,
    'claimed',
    claimed.map((r) => ({ stepId: r.step_id, ts: now, podId: params.podId, attempt: r.attempt })),
  );
  return claimed.map(toClaimedStepRow);
}

/** `claimed → completed` with the serialised result, or the stale record. */
export function completeStep(ctx: SqliteContext, ref: ClaimRef, resultJson: string, now: number): FencedWriteResult<'completed'> {
  const row = ctx.statement('stepComplete').get({ ...fence(ref), result: resultJson, now }) as StepRecord | undefined;
  if (row === undefined) return rejectStale(ctx, ref, 'complete', now);
  insertEvent(ctx, { stepId: row.step_id, ts: now, kind: 'completed', podId: ref.podId, attempt: row.attempt, detail: {} });
  openGates(ctx, row.step_id);
  return { applied: true, outcome: 'completed', step: toStepRow(row) };
}

/** One completion of a batch: the claim, its serialised result and the time it is recorded at. */
export interface Completion {
  readonly ref: ClaimRef;
  readonly resultJson: string;
  readonly now: number;
}

type StaleOutcome = { readonly applied: false; readonly outcome: 'stale' };

/** What a batch answers for each completed item: its row (`stepComplete`), or the outcome only (`stepCompleteMany`). */
interface CompletedAnswer<R> {
  readonly statement: 'stepCompleteBatch' | 'stepCompleteBatchOutcomes';
  readonly applied: (row: StepRecord) => R;
  readonly alone: (result: FencedWriteResult<'completed'>) => R;
}

const WITH_ROWS: CompletedAnswer<FencedWriteResult<'completed'>> = {
  statement: 'stepCompleteBatch',
  applied: (row) => ({ applied: true, outcome: 'completed', step: toStepRow(row) }),
  alone: (result) => result,
};

// The outcomes' statement returns `step_id` and `attempt` only: the row is not read back for nothing.
const OUTCOMES_ONLY: CompletedAnswer<FencedWriteOutcome<'completed'>> = {
  statement: 'stepCompleteBatchOutcomes',
  applied: () => ({ applied: true, outcome: 'completed' }),
  alone: outcomeOf,
};

/**
 * Completes `items` in order, as `completeStep` one after another would (results in item order).
 * Distinct steps, the common case, take two statements for the whole batch: one fenced UPDATE and
 * one insert of every `completed` event. A batch naming a step twice, or one with a stale item, writes
 * its events one by one so their order and the second write's staleness stay exactly sequential.
 */
export function completeSteps(ctx: SqliteContext, items: readonly Completion[]): FencedWriteResult<'completed'>[] {
  return completeInBatch(ctx, items, WITH_ROWS);
}

/** `completeSteps` answering outcomes only. */
export function completeStepOutcomes(ctx: SqliteContext, items: readonly Completion[]): FencedWriteOutcome<'completed'>[] {
  return completeInBatch(ctx, items, OUTCOMES_ONLY);
}

function completeInBatch<R extends FencedWriteOutcome<'completed'>>(
  ctx: SqliteContext,
  items: readonly Completion[],
  answer: CompletedAnswer<R>,
): (R | StaleOutcome)[] {
  if (items.length < 2 || new Set(items.map((c) => c.ref.stepId)).size !== items.length) {
    return items.map((c) => answer.alone(completeStep(ctx, c.ref, c.resultJson, c.now)));
  }
  const bound = items.map((c) => [c.ref.stepId, c.ref.podId, c.ref.attempt, c.resultJson, c.now]);
  const rows = ctx.statement(answer.statement).all({ items: JSON.stringify(bound) }) as StepRecord[];
  const byStep = new Map(rows.map((r) => [r.step_id, r]));
  openGatesOfMany(
    ctx,
    rows.map((r) => r.step_id),
  );
  if (rows.length === items.length) {
    insertPlainEvents(
      ctx,
      'completed',
      items.map((c) => ({ stepId: c.ref.stepId, ts: c.now, podId: c.ref.podId, attempt: c.ref.attempt })),
    );
    return items.map((c) => answer.applied(byStep.get(c.ref.stepId)!));
  }
  return items.map((c) => {
    const row = byStep.get(c.ref.stepId);
    if (row === undefined) return rejectStale(ctx, c.ref, 'complete', c.now);
    insertEvent(ctx, { stepId: row.step_id, ts: c.now, kind: 'completed', podId: c.ref.podId, attempt: row.attempt, detail: {} });
    return answer.applied(row);
  });
}

/** A failed attempt: retried with backoff while retries are left and the error is retryable, else dead-lettered. */
export function failStep(ctx: SqliteContext, params: StepFailParams, now: number): FencedWriteResult<'retried' | 'dead_lettered'> {
  return failOrReject(ctx, params, { error: params.error, retryable: params.retryable, reason: params.reason, write: 'fail' }, now);
}

/**
 * Gives a step back (drain). Below the release cap: `released`, retry_count unchanged. At the cap the
 * release is a retryable failure with reason `release`, exactly like `failStep`.
 */
export function releaseStep(ctx: SqliteContext, params: StepReleaseParams, now: number): FencedWriteResult<'released' | 'retried' | 'dead_lettered'> {
  const row = ctx.statement('stepRelease').get({ ...fence(params), maxReleases: ctx.policy.maxReleases, now }) as StepRecord | undefined;
  if (row !== undefined) {
    insertEvent(ctx, {
      stepId: row.step_id,
      ts: now,
      kind: 'released',
      podId: params.podId,
      attempt: row.attempt,
      detail: { release_count: row.release_count },
    });
    return { applied: true, outcome: 'released', step: toStepRow(row) };
  }
  const why = params.reason === undefined || params.reason === '' ? '' : ` (${params.reason})`;
  const error = `released after ${ctx.policy.maxReleases} earlier releases${why}; counted as a retry`;
  return failOrReject(ctx, params, { error, retryable: true, reason: 'release', write: 'release' }, now);
}

interface Failure {
  readonly error: string;
  readonly retryable: boolean;
  readonly reason: 'error' | 'timeout' | 'release';
  readonly write: 'fail' | 'release';
}

function failOrReject(ctx: SqliteContext, ref: ClaimRef, failure: Failure, now: number): FencedWriteResult<'retried' | 'dead_lettered'> {
  const row = ctx.statement('stepFail').get({
    ...fence(ref),
    ...policyParams(ctx.policy),
    error: failure.error,
    retryable: failure.retryable ? 1 : 0,
    now,
  }) as StepRecord | undefined;
  if (row === undefined) return rejectStale(ctx, ref, failure.write, now);
  if (row.status === 'pending') {
    const detail = { reason: failure.reason, error: failure.error, retry_count: row.retry_count, run_after: row.run_after };
    insertEvent(ctx, { stepId: row.step_id, ts: now, kind: 'retried', podId: ref.podId, attempt: row.attempt, detail });
    return { applied: true, outcome: 'retried', step: toStepRow(row) };
  }
  const reason = failure.retryable ? failure.reason : 'non_retryable';
  insertEvent(ctx, {
    stepId: row.step_id,
    ts: now,
    kind: 'dead_lettered',
    podId: ref.podId,
    attempt: row.attempt,
    detail: { reason, error: failure.error, retry_count: row.retry_count },
  });
  cascadeFailure(ctx, row.step_id, ref.podId, now);
  return { applied: true, outcome: 'dead_lettered', step: toStepRow(row) };
}

/** Records that a write lost its claim; the row is left exactly as it is. */
function rejectStale(ctx: SqliteContext, ref: ClaimRef, write: 'complete' | 'fail' | 'release', now: number): StaleOutcome {
  const current = ctx.statement('stepGet').get({ stepId: ref.stepId }) as StepRecord | undefined;
  const detail: { [key: string]: Json } = {
    write,
    status: current?.status ?? null,
    claimed_by: current?.claimed_by ?? null,
    attempt: current?.attempt ?? null,
  };
  insertEvent(ctx, { stepId: ref.stepId, ts: now, kind: 'stale_write_rejected', podId: ref.podId, attempt: ref.attempt, detail });
  return { applied: false, outcome: 'stale' };
}

function fence(ref: ClaimRef) {
  return { stepId: ref.stepId, podId: ref.podId, attempt: ref.attempt };
}
