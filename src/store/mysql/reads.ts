/**
 * The read-only Store methods on MySQL: one step, the audit trail, queue statistics and the DLQ
 * page. Each is a few plain statements on the pool (READ COMMITTED: every statement sees what was
 * committed when it started); none locks anything. Must not write.
 */
import type {
  DlqListParams,
  DlqListResult,
  EventListParams,
  QueueActivity,
  QueueActivityParams,
  QueueAgeResult,
  QueueStats,
  StepEvent,
  StepEventKind,
  StepListParams,
  StepRow,
} from '../store.js';
import { runRead, type Queryable } from './connection.js';
import type { MysqlContext } from './context.js';
import { toStepEvent, toStepRow, type EventRecord, type StepRecord } from './rows.js';
import { listPods } from './pods.js';

/** One row, or null. */
export async function getStep(pool: Queryable, ctx: MysqlContext, stepId: string): Promise<StepRow | null> {
  const [row] = await runRead<StepRecord>(pool, ctx.sql.stepGet, [stepId]);
  return row === undefined ? null : toStepRow(row);
}

/** Audit events in `event_id` order. */
export async function listEvents(pool: Queryable, ctx: MysqlContext, params: EventListParams): Promise<StepEvent[]> {
  const stepId = params.stepId ?? null;
  // MySQL's LIMIT takes no NULL: "no limit" is the largest BIGINT.
  const limit = params.limit ?? Number.MAX_SAFE_INTEGER;
  const rows = await runRead<EventRecord>(pool, ctx.sql.eventList, [stepId, stepId, params.afterEventId ?? 0, Math.max(0, Math.floor(limit))]);
  return rows.map(toStepEvent);
}

/** Counts by status, priority, type and live pod. */
export async function readQueueStats(pool: Queryable, ctx: MysqlContext, nowParam: number | undefined): Promise<QueueStats> {
  const [byStatus, byPriority, byType, byPod, pods] = await Promise.all([
    runRead<{ status: string; n: number }>(pool, ctx.sql.statsByStatus),
    runRead<{ priority: number; n: number }>(pool, ctx.sql.statsPendingByPriority),
    runRead<{ type: string; n: number }>(pool, ctx.sql.statsActiveByType),
    runRead<{ pod_id: string; n: number }>(pool, ctx.sql.statsClaimedByPod),
    listPods(pool, ctx, nowParam),
  ]);
  const count = (status: string) => Number(byStatus.find((r) => r.status === status)?.n ?? 0);
  const claimedBy = new Map(byPod.map((r) => [r.pod_id, Number(r.n)]));
  const live = pods.filter((p) => p.live);
  return {
    pending: count('pending'),
    claimed: count('claimed'),
    completed: count('completed'),
    failed: count('failed'),
    cancelled: count('cancelled'),
    pendingByPriority: Object.fromEntries(byPriority.map((r) => [String(r.priority), Number(r.n)])),
    activeByType: Object.fromEntries(byType.map((r) => [r.type, Number(r.n)])),
    // A pod whose meta lacks a numeric capacity (written by something else) counts as 0, not NaN.
    pods: live.map((p) => ({ podId: p.podId, claimed: claimedBy.get(p.podId) ?? 0, capacity: typeof p.meta.capacity === 'number' ? p.meta.capacity : 0 })),
    leader: live[0]?.podId ?? null,
  };
}

/** `failed` steps, newest first, with the total count. */
export async function listDlq(pool: Queryable, ctx: MysqlContext, params: DlqListParams): Promise<DlqListResult> {
  const limit = Math.max(0, Math.floor(params.limit));
  const offset = Math.max(0, Math.floor(params.offset));
  const [[total], rows] = await Promise.all([runRead<{ n: number }>(pool, ctx.sql.dlqCount), runRead<StepRecord>(pool, ctx.sql.dlqPage, [limit, offset])]);
  return { total: Number(total?.n ?? 0), steps: rows.map(toStepRow) };
}

/** A page of steps matching every given filter, along the index that serves it (see `Store.stepList`). */
export async function listSteps(pool: Queryable, ctx: MysqlContext, params: StepListParams): Promise<StepRow[]> {
  const prefix = params.stepIdPrefix === undefined || params.stepIdPrefix === '' ? null : params.stepIdPrefix;
  const type = params.type ?? null;
  const key = params.idempotencyKey ?? null;
  const filters = [type, type, prefix, prefix, prefix === null ? null : `${prefix}\u{10ffff}`, key, key];
  const page = [Math.max(0, Math.floor(params.limit)), Math.max(0, Math.floor(params.offset))];
  const rows =
    params.status === undefined
      ? await runRead<StepRecord>(pool, ctx.sql.stepListNewest, [...filters, ...page])
      : params.status === 'pending'
        ? await runRead<StepRecord>(pool, ctx.sql.stepListPending, [...filters, ...page])
        : await runRead<StepRecord>(pool, ctx.sql.stepListByUpdate, [params.status, ...filters, ...page]);
  return rows.map(toStepRow);
}

/** Counts of the asked kinds per bucket over the window, at one clock reading. */
export async function readActivity(pool: Queryable, ctx: MysqlContext, params: QueueActivityParams): Promise<QueueActivity> {
  const [clock] = await runRead<{ now_ms: number | string }>(pool, ctx.sql.clock, [params.now ?? null]);
  const now = Number(clock!.now_ms);
  const bucketMs = Math.max(1, Math.floor(params.bucketMs));
  const first = (Math.floor((now - params.windowMs) / bucketMs) + 1) * bucketMs;
  const buckets =
    params.kinds.length === 0
      ? []
      : await runRead<{ bucket_start: number | string; kind: StepEventKind; n: number | string }>(pool, ctx.sql.activityBuckets, [
          bucketMs,
          bucketMs,
          [...params.kinds],
          first,
          now,
        ]);
  return { now, buckets: buckets.map((b) => ({ bucketStart: Number(b.bucket_start), kind: b.kind, count: Number(b.n) })) };
}

/** Due pending steps per priority, highest first, at one clock reading. */
export async function readQueueAge(pool: Queryable, ctx: MysqlContext, nowParam: number | undefined): Promise<QueueAgeResult> {
  const [clock] = await runRead<{ now_ms: number | string }>(pool, ctx.sql.clock, [nowParam ?? null]);
  const checkedAt = Number(clock!.now_ms);
  const rows = await runRead<{ priority: number; due: number | string; oldest_ms: number | string }>(pool, ctx.sql.queueAgeByPriority, [checkedAt]);
  const [past] = await runRead<{ n: number | string }>(pool, ctx.sql.queuePastDeadline, [checkedAt]);
  return {
    checkedAt,
    byPriority: rows.map((r) => ({ priority: Number(r.priority), due: Number(r.due), oldestDueTs: Number(r.oldest_ms) })),
    pastDeadline: Number(past!.n),
  };
}
