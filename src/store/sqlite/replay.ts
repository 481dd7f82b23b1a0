/**
 * Operator replay of a dead-lettered step on SQLite: `failed → pending`, a new episode. Runs inside
 * the driver's write transaction; must not touch steps in any other status.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import type { StepRow } from '../store.js';
import { insertEvent, type SqliteContext } from './context.js';
import { toStepRow, type StepRecord } from './rows.js';
import { cascadeRevival } from './workflow.js';

/** Replays `stepId`; `NotFoundError` when unknown, `ConflictError` when not in the DLQ. */
export function replayStep(ctx: SqliteContext, stepId: string, now: number): StepRow {
  const before = ctx.statement('stepGet').get({ stepId }) as StepRecord | undefined;
  if (before === undefined) throw new NotFoundError(`step ${stepId} not found`);
  if (before.status !== 'failed') throw new ConflictError(`step ${stepId} is ${before.status}, not in the dead-letter queue`);
  // The write transaction holds the file since the read above, so this cannot miss.
  const row = ctx.statement('stepReplay').get({ stepId, now }) as StepRecord;
  insertEvent(ctx, { stepId, ts: now, kind: 'replayed', podId: null, attempt: row.attempt, detail: { old_retry_count: before.retry_count } });
  cascadeRevival(ctx, stepId, now);
  return toStepRow(row);
}
