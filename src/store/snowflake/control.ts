/**
 * Step control on Snowflake: an operator's cancel (read, decide, write under the read values, like
 * replay), a handler's fenced progress, and the look-up by which a holder learns of a cancel. Every
 * write is one autocommit statement; the cancel's event goes through the row's outbox (queries.ts).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { StepCancelResult, StepProgressParams, StepProgressResult, StepStatus } from '../store.js';
import { staleEvent } from './complete.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import { decideCancel, rowAfter } from './decide.js';
import type { SfNames } from './names.js';
import * as q from './queries.js';
import { toStepRow } from './rows.js';

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** `pending | claimed → cancelled`; a row that moved between read and write is read again (5 rounds). */
export async function cancelStep(run: Run, n: SfNames, stepId: string, at: number | undefined): Promise<StepCancelResult> {
  for (let round = 0; round < 5; round++) {
    const { rows } = await run(q.stepsByIdSql(n, [stepId]), { idempotent: true });
    if (rows[0] === undefined) throw new NotFoundError(`step ${stepId} not found`);
    const row = toStepRow(rows[0]);
    if (row.status !== 'pending' && row.status !== 'claimed')
      throw new ConflictError(`step ${stepId} is ${row.status}; only pending or claimed steps can be cancelled`);
    // The cancel overwrites the row's outbox: first copy the event the last write may still owe
    // (a no-op when it is in STEP_EVENTS already), so that event is never lost.
    const owed = rows[0]['WRITE_TOKEN'];
    if (typeof owed === 'string') await run(q.eventsFromWriteSql(n, owed), { idempotent: true });
    const change = decideCancel(row, at ?? Number(rows[0]['NOW_MS']));
    const token = randomUUID();
    const { updated } = await run(q.applyChangesSql(n, [change], token), { idempotent: true });
    if (updated === 0) continue;
    await run(q.eventsFromWriteSql(n, token), { idempotent: true });
    return { step: rowAfter(row, change), previousStatus: row.status };
  }
  throw new ConflictError(`step ${stepId} kept changing while it was cancelled; try again`);
}

/** Fenced progress; stale: the `stale_write_rejected` event and the row's status. */
export async function progressStep(run: Run, n: SfNames, params: StepProgressParams, progressJson: string): Promise<StepProgressResult> {
  const { updated } = await run(q.progressSql(n, { ...params, progress: progressJson }), { idempotent: true });
  if (updated > 0) return { applied: true };
  const { rows } = await run(q.stepsByIdSql(n, [params.stepId]), { idempotent: true });
  const row = rows[0] === undefined ? null : toStepRow(rows[0]);
  await run(q.eventsInsertSql(n, [staleEvent(params, 'progress', row)]));
  return { applied: false, status: (row?.status ?? null) as StepStatus | null };
}

/** One read by primary key of the pod's running steps. */
export async function cancelledAmong(run: Run, n: SfNames, podId: string, stepIds: readonly string[]): Promise<string[]> {
  if (stepIds.length === 0) return [];
  const { rows } = await run(q.cancelledAmongSql(n, podId, stepIds), { idempotent: true });
  return rows.map((r) => String(r['STEP_ID']));
}
