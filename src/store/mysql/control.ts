/**
 * Step control on MySQL: an operator's cancel and a handler's fenced progress. Each runs inside the
 * driver's transaction on one connection, deciding on the row it locked first (`FOR UPDATE`), like
 * the fenced writes of fenced.ts. Must not open transactions or retry.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import type { ClaimRef, StepCancelResult, StepProgressResult, StepRow } from '../store.js';
import { run, write, type Connection } from './connection.js';
import { insertEvents, type MysqlContext } from './context.js';
import { fenceHolds, lockStep } from './fenced.js';
import { toStepRow, type LockedStepRecord, type StepRecord } from './rows.js';

/** `pending | claimed → cancelled` with its event; `NotFoundError` when unknown, `ConflictError` when terminal. */
export async function cancelLocked(connection: Connection, ctx: MysqlContext, stepId: string, at: number | undefined): Promise<StepCancelResult> {
  const [locked] = await run<LockedStepRecord>(connection, ctx.sql.stepLock, [at ?? null, stepId]);
  if (locked === undefined) throw new NotFoundError(`step ${stepId} not found`);
  if (locked.status !== 'pending' && locked.status !== 'claimed') {
    throw new ConflictError(`step ${stepId} is ${locked.status}; only pending or claimed steps can be cancelled`);
  }
  const now = Number(locked.now_ms);
  await write(connection, ctx.sql.stepCancel, [now, stepId]);
  const step: StepRow = { ...toStepRow(locked), status: 'cancelled', lastUpdateTs: now };
  const claimedBy = locked.status === 'claimed' ? locked.claimed_by : null;
  await insertEvents(connection, ctx, [
    { stepId, ts: now, kind: 'cancelled', podId: null, attempt: step.attempt, detail: { previous_status: locked.status, claimed_by: claimedBy } },
  ]);
  return { step, previousStatus: locked.status };
}

/** Stores the serialised progress while the fence holds; otherwise records the stale write. */
export async function progressLocked(connection: Connection, ctx: MysqlContext, ref: ClaimRef, progressJson: string): Promise<StepProgressResult> {
  const { row, now } = await lockStep(connection, ctx, ref);
  if (fenceHolds(row, ref)) {
    await write(connection, ctx.sql.stepProgress, [progressJson, ref.stepId]);
    return { applied: true };
  }
  // The predicate narrows `row` to undefined here, though a row held by another claim is still a row.
  const current = row as StepRecord | undefined;
  const detail = { write: 'progress', status: current?.status ?? null, claimed_by: current?.claimed_by ?? null, attempt: current?.attempt ?? null };
  await insertEvents(connection, ctx, [{ stepId: ref.stepId, ts: now, kind: 'stale_write_rejected', podId: ref.podId, attempt: ref.attempt, detail }]);
  return { applied: false, status: current?.status ?? null };
}
