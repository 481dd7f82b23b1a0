/**
 * The SQLite store's dashboard reads: a filtered page of steps (`stepList`) and recent activity from
 * the audit trail (`queueActivity`). Each picks the statement whose index serves the request, so a
 * page stays cheap on a large table. Reads only; the driver runs them in one read transaction.
 */
import type { QueueActivity, QueueActivityParams, StepEventKind, StepListParams, StepRow } from '../store.js';
import type { SqliteContext } from './context.js';
import { toStepRow, type StepRecord } from './rows.js';

/** The upper bound of a prefix range: every ASCII id that starts with `prefix` sorts below it. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\u{10ffff}`;
}

export function listSteps(ctx: SqliteContext, params: StepListParams): StepRow[] {
  const statement = params.status === undefined ? 'stepListNewest' : params.status === 'pending' ? 'stepListPending' : 'stepListByUpdate';
  const prefix = params.stepIdPrefix === undefined || params.stepIdPrefix === '' ? null : params.stepIdPrefix;
  const rows = ctx.statement(statement).all({
    ...(statement === 'stepListByUpdate' ? { status: params.status } : {}),
    type: params.type ?? null,
    prefix,
    prefixEnd: prefix === null ? null : prefixEnd(prefix),
    idempotencyKey: params.idempotencyKey ?? null,
    limit: Math.max(0, Math.floor(params.limit)),
    offset: Math.max(0, Math.floor(params.offset)),
  }) as StepRecord[];
  return rows.map(toStepRow);
}

/** The first and last bucket starts of `(now − windowMs, now]`. */
export function bucketRange(now: number, windowMs: number, bucketMs: number): { first: number; last: number } {
  const last = Math.floor(now / bucketMs) * bucketMs;
  const first = (Math.floor((now - windowMs) / bucketMs) + 1) * bucketMs;
  return { first: Math.min(first, last), last };
}

export function readActivity(ctx: SqliteContext, params: QueueActivityParams, now: number): QueueActivity {
  const bucketMs = Math.max(1, Math.floor(params.bucketMs));
  const { first, last } = bucketRange(now, params.windowMs, bucketMs);
  const rows = ctx.statement('activityBuckets').all({ first, last, bucketMs, now, kinds: JSON.stringify(params.kinds) }) as {
    bucket_start: number;
    kind: StepEventKind;
    n: number;
  }[];
  return { now, buckets: rows.map((r) => ({ bucketStart: r.bucket_start, kind: r.kind, count: r.n })) };
}
