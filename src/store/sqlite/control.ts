/**
 * Step control on SQLite: an operator's cancel, a handler's fenced progress, and the look-up by
 * which a running pod learns that one of its steps was cancelled. Runs inside the driver's
 * transactions; must not open transactions or retry.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import type { ClaimRef, Json, StepCancelResult, StepProgressResult } from '../store.js';
import { insertEvent, type SqliteContext } from './context.js';
import { toStepRow, type StepRecord } from './rows.js';

/** `pending | claimed → cancelled` with its event; `NotFoundError` when unknown, `ConflictError` when terminal. */
export function cancelStep(ctx: SqliteContext, stepId: string, now: number): StepCancelResult {
  const before = ctx.statement('stepGet').get({ stepId }) as StepRecord | undefined;
  if (before === undefined) throw new NotFoundError(`step ${stepId} not found`);
  if (before.status !== 'pending' && before.status !== 'claimed')
    throw new ConflictError(`step ${stepId} is ${before.status}; only pending or claimed steps can be cancelled`);
  // The write transaction holds the file since the read above, so this cannot miss.
  const row = ctx.statement('stepCancel').get({ stepId, now }) as StepRecord;
  const detail: { [key: string]: Json } = { previous_status: before.status, claimed_by: before.status === 'claimed' ? before.claimed_by : null };
  insertEvent(ctx, { stepId, ts: now, kind: 'cancelled', podId: null, attempt: row.attempt, detail });
  return { step: toStepRow(row), previousStatus: before.status };
}

/** Stores the serialised progress under the fence, or records the stale write and reports the row's status. */
export function progressStep(ctx: SqliteContext, ref: ClaimRef, progressJson: string, now: number): StepProgressResult {
  const hit = ctx.statement('stepProgress').get({ stepId: ref.stepId, podId: ref.podId, attempt: ref.attempt, progress: progressJson });
  if (hit !== undefined) return { applied: true };
  const current = ctx.statement('stepGet').get({ stepId: ref.stepId }) as StepRecord | undefined;
  const detail: { [key: string]: Json } = {
    write: 'progress',
    status: current?.status ?? null,
    claimed_by: current?.claimed_by ?? null,
    attempt: current?.attempt ?? null,
  };
  insertEvent(ctx, { stepId: ref.stepId, ts: now, kind: 'stale_write_rejected', podId: ref.podId, attempt: ref.attempt, detail });
  return { applied: false, status: current?.status ?? null };
}

/** The ids among `stepIds` cancelled while `podId` held them. */
export function cancelledAmong(ctx: SqliteContext, podId: string, stepIds: readonly string[]): string[] {
  return ctx
    .statement('stepCancelledAmong')
    .pluck()
    .all({ podId, ids: JSON.stringify(stepIds) }) as string[];
}
