/**
 * The recovery sweep and retention pruning on SQLite. The sweep is one transaction of conditional
 * statements judged with one clock: orphaned claims are recovered or dead-lettered by a single
 * UPDATE whose RETURNING rows become the events, then dead pods are marked down. A second sweeper
 * (another process) runs after the first under BEGIN IMMEDIATE and finds nothing left to do.
 * Must not open transactions; the driver does.
 */
import type { RecoverySummary } from '../store.js';
import { insertEvent, policyParams, type SqliteContext } from './context.js';
import type { StepRecord } from './rows.js';
import { cascadeFailure } from './workflow.js';

/** Recovers orphaned claims and marks dead pods down. */
export function sweep(ctx: SqliteContext, sweeperPodId: string | null, now: number, startedAt: number): RecoverySummary {
  const bind = { ...policyParams(ctx.policy), now };
  const rows = (ctx.statement('recoveryOrphansRecover').all(bind) as StepRecord[]).sort((a, b) => (a.step_id < b.step_id ? -1 : 1));
  const requeued: string[] = [];
  const deadLettered: string[] = [];
  for (const r of rows) {
    const error = r.last_error ?? 'claim held by a dead pod';
    if (r.status === 'pending') {
      requeued.push(r.step_id);
      const detail = { reason: 'pod_dead', error, retry_count: r.retry_count, run_after: r.run_after };
      insertEvent(ctx, { stepId: r.step_id, ts: now, kind: 'recovered', podId: sweeperPodId, attempt: r.attempt, detail });
    } else {
      deadLettered.push(r.step_id);
      const detail = { reason: 'pod_dead', error, retry_count: r.retry_count };
      insertEvent(ctx, { stepId: r.step_id, ts: now, kind: 'dead_lettered', podId: sweeperPodId, attempt: r.attempt, detail });
    }
  }
  // After every orphan's own event, so a descendant that is itself an orphan is never failed twice.
  for (const id of deadLettered) cascadeFailure(ctx, id, sweeperPodId, now);
  const deadPods = (ctx.statement('recoveryDeadPodsMarkDown').all(bind) as { pod_id: string }[]).map((p) => p.pod_id).sort();
  return summary(false, deadPods, requeued, deadLettered, startedAt);
}

/** The same sets as `sweep`, read only. */
export function sweepPreview(ctx: SqliteContext, now: number, startedAt: number): RecoverySummary {
  const bind = { ...policyParams(ctx.policy), now };
  const orphans = ctx.statement('recoveryOrphansPreview').all(bind) as Pick<StepRecord, 'step_id' | 'retry_count' | 'max_retries'>[];
  const requeued = orphans.filter((o) => o.retry_count < o.max_retries).map((o) => o.step_id);
  const deadLettered = orphans.filter((o) => o.retry_count >= o.max_retries).map((o) => o.step_id);
  const deadPods = (ctx.statement('recoveryDeadPodsPreview').all(bind) as { pod_id: string }[]).map((p) => p.pod_id);
  return summary(true, deadPods, requeued, deadLettered, startedAt);
}

function summary(dryRun: boolean, deadPods: string[], requeued: string[], deadLettered: string[], startedAt: number): RecoverySummary {
  return {
    dryRun,
    deadPods,
    orphanedSteps: [...requeued, ...deadLettered].sort(),
    requeued,
    deadLettered,
    durationMs: Math.max(0, Date.now() - startedAt),
  };
}

/**
 * One retention batch: up to `limit` terminal steps last updated before `cutoff`, with their events.
 * The caller runs each batch as its own transaction, so the write lock is held for one batch only.
 */
export function pruneStepBatch(ctx: SqliteContext, cutoff: number, limit: number): { steps: number; events: number } {
  const ids = ctx.statement('pruneBatchPick').pluck().all({ cutoff, limit }) as string[];
  if (ids.length === 0) return { steps: 0, events: 0 };
  const json = JSON.stringify(ids);
  const events = ctx.statement('pruneEvents').run({ ids: json }).changes;
  ctx.statement('pruneDependencies').run({ ids: json });
  const steps = ctx.statement('pruneSteps').run({ ids: json, cutoff }).changes;
  return { steps, events };
}

/** Deletes `down` pods silent since before `cutoff` that hold no claim. */
export function prunePods(ctx: SqliteContext, cutoff: number): number {
  return ctx.statement('prunePods').run({ cutoff }).changes;
}
