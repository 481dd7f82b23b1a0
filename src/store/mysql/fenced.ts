/**
 * Claims and the fenced writes made on behalf of a claim (complete, fail, release), each with its one
 * audit event, and the `stale_write_rejected` record when the fence matches nothing. Every function
 * runs inside the driver's transaction on one connection: the target row is locked first
 * (`FOR UPDATE`), the outcome (retry or dead-letter, backoff) is decided on that locked row, and the
 * row is written back by primary key. Must not open transactions or retry.
 */
import { PodFencedError } from '../../errors.js';
import { allowance, limitedTypes, windowStart } from '../flow.js';
import type { ClaimedStepRow, ClaimRef, FencedWriteResult, Json, StepClaimParams, StepRow } from '../store.js';
import { claimedStepOf } from '../store.js';
import { run, write, type Connection } from './connection.js';
import { backoffMs, insertEvents, readClock, type MysqlContext, type NewEvent } from './context.js';
import { byClaimOrder, toStepRow, type LockedStepRecord, type StepRecord } from './rows.js';
import { cascadeFailure } from './workflow.js';

/**
 * Claims up to `limit` steps; refuses (claiming nothing) when the pod is not registered as up. With
 * flow limits, run it while holding the named locks of the limited types (`withFlowLocks`).
 */
export async function claimSteps(connection: Connection, ctx: MysqlContext, params: StepClaimParams): Promise<ClaimedStepRow[]> {
  const [start] = await run<{ now_ms: number | string; pod_status: string | null }>(connection, ctx.sql.claimStart, [params.now ?? null, params.podId]);
  if (start?.pod_status !== 'up') throw new PodFencedError(params.podId);
  const now = Number(start.now_ms);
  let left = Math.max(0, Math.floor(params.limit));
  if (left === 0 || params.types.length === 0) return [];
  const picked: StepRecord[] = [];
  // Flow-limited types first, each up to its allowance; the caller holds their named locks.
  const limited = limitedTypes(params);
  for (const l of limited) {
    const start = windowStart(l, now);
    const [usage] = await run<{ claimed: number | string; started: number | string }>(connection, ctx.sql.flowUsage, [l.type, l.type, start]);
    const n = Math.min(left, allowance(l, { claimed: Number(usage!.claimed), started: Number(usage!.started) }));
    if (n === 0) continue;
    const got = await run<StepRecord>(connection, ctx.sql.claimPickLimited, [[l.type], now, start, start, n]);
    picked.push(...got);
    left -= got.length;
  }
  const free = params.types.filter((t) => !limited.some((l) => l.type === t));
  if (left > 0 && free.length > 0) picked.push(...(await run<StepRecord>(connection, ctx.sql.claimPick, [free, now, left])));
  if (picked.length === 0) return [];
  await write(connection, ctx.sql.claimMark, [params.podId, now, now, picked.map((r) => r.step_id)]);
  const claimed = picked.map((r): ClaimedStepRow => ({ ...claimedStepOf(toStepRow(r)), attempt: r.attempt + 1 })).sort(byClaimOrder);
  await insertEvents(
    connection,
    ctx,
    claimed.map((s) => ({ stepId: s.stepId, ts: now, kind: 'claimed', podId: params.podId, attempt: s.attempt, detail: {} })),
  );
  return claimed;
}

/** The fence of DESIGN §3 on a locked row: the exact claim, still claimed. */
export function fenceHolds(row: StepRecord | undefined, ref: ClaimRef): row is StepRecord {
  return row !== undefined && row.status === 'claimed' && row.claimed_by === ref.podId && row.attempt === ref.attempt;
}

/** Locks the step and reads the clock; `row` is undefined when the step does not exist. */
export async function lockStep(connection: Connection, ctx: MysqlContext, ref: ClaimRef): Promise<{ row: StepRecord | undefined; now: number }> {
  const [row] = await run<LockedStepRecord>(connection, ctx.sql.stepLock, [ref.now ?? null, ref.stepId]);
  if (row === undefined) return { row: undefined, now: await readClock(connection, ctx, ref.now) };
  return { row, now: Number(row.now_ms) };
}

/** `claimed → completed` with the serialised result on a row already locked; `undefined` row or fence broken: stale. */
export async function completeLocked(
  connection: Connection,
  ctx: MysqlContext,
  ref: ClaimRef,
  row: StepRecord | undefined,
  now: number,
  resultJson: string,
): Promise<{ outcome: FencedWriteResult<'completed'>; event: NewEvent }> {
  if (!fenceHolds(row, ref)) return { outcome: { applied: false, outcome: 'stale' }, event: staleEvent(ref, row, 'complete', now) };
  await write(connection, ctx.sql.stepComplete, [resultJson, now, ref.stepId]);
  const step: StepRow = { ...toStepRow(row), status: 'completed', result: JSON.parse(resultJson) as Json, lastUpdateTs: now };
  return {
    outcome: { applied: true, outcome: 'completed', step },
    event: { stepId: ref.stepId, ts: now, kind: 'completed', podId: ref.podId, attempt: row.attempt, detail: {} },
  };
}

/** How a failed or released attempt is written. */
export interface Failure {
  /** A release (drain): free while `release_count < maxReleases`, else a retryable failure. */
  readonly release: boolean;
  readonly error: string;
  readonly retryable: boolean;
  readonly reason: 'error' | 'timeout' | 'release';
}

/**
 * A failed or released attempt on the locked row: `released` (under the release cap), `retried`
 * (retryable with retries left: pending with backoff) or `dead_lettered`; stale when the fence fails.
 */
export async function failLocked(
  connection: Connection,
  ctx: MysqlContext,
  ref: ClaimRef,
  failure: Failure,
): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
  const { row, now } = await lockStep(connection, ctx, ref);
  if (!fenceHolds(row, ref)) {
    await insertEvents(connection, ctx, [staleEvent(ref, row, failure.release ? 'release' : 'fail', now)]);
    return { applied: false, outcome: 'stale' };
  }
  const p = ctx.policy;
  const outcome =
    failure.release && row.release_count < p.maxReleases ? 'released' : failure.retryable && row.retry_count < row.max_retries ? 'retried' : 'dead_lettered';
  const before = toStepRow(row);
  const step: StepRow =
    outcome === 'released'
      ? { ...before, status: 'pending', claimedBy: null, releaseCount: before.releaseCount + 1, runAfter: now, lastUpdateTs: now }
      : outcome === 'retried'
        ? {
            ...before,
            status: 'pending',
            claimedBy: null,
            retryCount: before.retryCount + 1,
            runAfter: now + backoffMs(p, before.retryCount),
            lastError: failure.error,
            lastUpdateTs: now,
          }
        : { ...before, status: 'failed', lastError: failure.error, lastUpdateTs: now };
  await write(connection, ctx.sql.stepSettle, [
    step.status,
    step.claimedBy,
    step.retryCount,
    step.releaseCount,
    step.runAfter,
    step.lastError,
    now,
    step.stepId,
  ]);
  const detail: { [key: string]: Json } =
    outcome === 'released'
      ? { release_count: step.releaseCount }
      : outcome === 'retried'
        ? { reason: failure.reason, error: failure.error, retry_count: step.retryCount, run_after: step.runAfter }
        : { reason: failure.retryable ? failure.reason : 'non_retryable', error: failure.error, retry_count: step.retryCount };
  await insertEvents(connection, ctx, [{ stepId: step.stepId, ts: now, kind: outcome, podId: ref.podId, attempt: step.attempt, detail }]);
  if (outcome === 'dead_lettered') await cascadeFailure(connection, ctx, step.stepId, ref.podId, now);
  return { applied: true, outcome, step };
}

/** The record of a write that lost its claim: the writer's pod and attempt, the row as it is (nulls when gone). */
export function staleEvent(ref: ClaimRef, row: StepRecord | undefined, write: 'complete' | 'fail' | 'release', now: number): NewEvent {
  return {
    stepId: ref.stepId,
    ts: now,
    kind: 'stale_write_rejected',
    podId: ref.podId,
    attempt: ref.attempt,
    detail: { write, status: row?.status ?? null, claimed_by: row?.claimed_by ?? null, attempt: row?.attempt ?? null },
  };
}
