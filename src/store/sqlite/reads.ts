/**
 * The read-only operations of the SQLite store: one step, the audit trail, queue statistics and
 * the DLQ page. Multi-statement reads run in one (deferred) read transaction opened by the driver,
 * so their numbers come from one snapshot. Must not write.
 */
import type { DlqListParams, DlqListResult, EventListParams, QueueAgeResult, QueueStats, StepEvent, StepRow } from '../store.js';
import type { SqliteContext } from './context.js';
import { readLeader } from './pods.js';
import { toStepEvent, toStepRow, type EventRecord, type StepRecord } from './rows.js';

export function getStep(ctx: SqliteContext, stepId: string): StepRow | null {
  const row = ctx.statement('stepGet').get({ stepId }) as StepRecord | undefined;
  return row === undefined ? null : toStepRow(row);
}

/** Events in `event_id` order; a negative LIMIT means no limit in SQLite. */
export function listEvents(ctx: SqliteContext, params: EventListParams): StepEvent[] {
  const rows = ctx.statement('eventList').all({
    stepId: params.stepId ?? null,
    afterEventId: params.afterEventId ?? 0,
    limit: params.limit === undefined ? -1 : Math.max(0, Math.floor(params.limit)),
  }) as EventRecord[];
  return rows.map(toStepEvent);
}

type Counted<K extends string> = { readonly [key in K]: string | number } & { readonly n: number };

export function readQueueStats(ctx: SqliteContext, now: number): QueueStats {
  const byStatus = new Map((ctx.statement('statsByStatus').all() as Counted<'status'>[]).map((r) => [r.status, r.n]));
  const pendingByPriority: { [priority: string]: number } = {};
  for (const r of ctx.statement('statsPendingByPriority').all() as Counted<'priority'>[]) pendingByPriority[String(r.priority)] = r.n;
  const activeByType: { [type: string]: number } = {};
  for (const r of ctx.statement('statsActiveByType').all() as Counted<'type'>[]) activeByType[String(r.type)] = r.n;
  const claimedByPod = new Map((ctx.statement('statsClaimedByPod').all() as Counted<'pod_id'>[]).map((r) => [r.pod_id, r.n]));
  const leader = readLeader(ctx, now);
  return {
    pending: byStatus.get('pending') ?? 0,
    claimed: byStatus.get('claimed') ?? 0,
    completed: byStatus.get('completed') ?? 0,
    failed: byStatus.get('failed') ?? 0,
    cancelled: byStatus.get('cancelled') ?? 0,
    pendingByPriority,
    activeByType,
    pods: leader.livePods.map((p) => ({ podId: p.podId, claimed: claimedByPod.get(p.podId) ?? 0, capacity: p.meta.capacity })),
    leader: leader.leader?.podId ?? null,
  };
}

/** Due pending steps per priority (one statement), judged at `now`. */
export function readQueueAge(ctx: SqliteContext, now: number): QueueAgeResult {
  const rows = ctx.statement('queueAgeByPriority').all({ now }) as { priority: number; due: number; oldest_ms: number }[];
  const pastDeadline = (ctx.statement('queuePastDeadline').get({ now }) as { n: number }).n;
  return { checkedAt: now, byPriority: rows.map((r) => ({ priority: r.priority, due: r.due, oldestDueTs: r.oldest_ms })), pastDeadline };
}

export function listDlq(ctx: SqliteContext, params: DlqListParams): DlqListResult {
  const total = (ctx.statement('dlqCount').get() as { n: number }).n;
  const rows = ctx.statement('dlqPage').all({
    limit: Math.max(0, Math.floor(params.limit)),
    offset: Math.max(0, Math.floor(params.offset)),
  }) as StepRecord[];
  return { total, steps: rows.map(toStepRow) };
}
