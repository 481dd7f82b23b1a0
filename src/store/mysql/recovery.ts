/**
 * The recovery sweep and retention on MySQL. The sweep runs inside the driver's transaction: claims
 * whose holder is not live (judged in the statement, by the transaction's clock) are locked
 * `FOR UPDATE SKIP LOCKED`, so two sweepers split them instead of waiting or doubling up, and each
 * goes `recovered` (retries left: pending with backoff) or `dead_lettered`; pods up but not live go
 * `down` by a conditional update that re-checks liveness. Retention deletes in chunks, each its own
 * transaction (the driver loops). Must not open transactions itself.
 */
import type { Json, RecoverySummary, StepRow } from '../store.js';
import { run, write, type Connection } from './connection.js';
import { backoffMs, insertEvents, readClock, type MysqlContext, type NewEvent } from './context.js';
import { toStepRow, type StepRecord } from './rows.js';
import { cascadeFailure } from './workflow.js';

/** Runs (or, `dryRun`, previews) one sweep at the transaction's clock. */
export async function sweep(
  connection: Connection,
  ctx: MysqlContext,
  params: { readonly now?: number; readonly podId?: string; readonly dryRun: boolean },
  startedAt: number,
): Promise<RecoverySummary> {
  const now = await readClock(connection, ctx, params.now);
  const threshold = ctx.policy.deadPodThresholdMs;
  const orphans = (await run<StepRecord>(connection, params.dryRun ? ctx.sql.sweepPreview : ctx.sql.sweepOrphans, [now, threshold])).map(toStepRow);
  const deadPods = (await run<{ pod_id: string }>(connection, params.dryRun ? ctx.sql.sweepDeadPodsPreview : ctx.sql.sweepDeadPods, [now, threshold])).map(
    (r) => r.pod_id,
  );
  const requeued = orphans.filter((s) => s.retryCount < s.maxRetries);
  const deadLettered = orphans.filter((s) => s.retryCount >= s.maxRetries);
  if (!params.dryRun) {
    const events: NewEvent[] = [];
    for (const s of orphans) events.push(await recoverOne(connection, ctx, s, now, params.podId ?? null));
    await insertEvents(connection, ctx, events);
    for (const s of deadLettered) await cascadeFailure(connection, ctx, s.stepId, params.podId ?? null, now);
    if (deadPods.length > 0) await write(connection, ctx.sql.sweepDownPods, [deadPods, now, threshold]);
  }
  return {
    dryRun: params.dryRun,
    deadPods,
    orphanedSteps: orphans.map((s) => s.stepId),
    requeued: requeued.map((s) => s.stepId),
    deadLettered: deadLettered.map((s) => s.stepId),
    durationMs: Date.now() - startedAt,
  };
}

/** One orphan (locked): back to pending with backoff, or to the DLQ; returns its event. */
async function recoverOne(connection: Connection, ctx: MysqlContext, s: StepRow, now: number, sweeper: string | null): Promise<NewEvent> {
  const lastError = `claim held by dead pod ${s.claimedBy}`;
  const recovered = s.retryCount < s.maxRetries;
  const retryCount = recovered ? s.retryCount + 1 : s.retryCount;
  const runAfter = recovered ? now + backoffMs(ctx.policy, s.retryCount) : s.runAfter;
  await write(connection, ctx.sql.stepSettle, [
    recovered ? 'pending' : 'failed',
    recovered ? null : s.claimedBy,
    retryCount,
    s.releaseCount,
    runAfter,
    lastError,
    now,
    s.stepId,
  ]);
  const detail: { [key: string]: Json } = { reason: 'pod_dead', error: lastError, retry_count: retryCount, ...(recovered ? { run_after: runAfter } : {}) };
  return { stepId: s.stepId, ts: now, kind: recovered ? 'recovered' : 'dead_lettered', podId: sweeper, attempt: s.attempt, detail };
}

/** One chunk of retention at `cutoff`: up to `chunk` terminal steps with their events, and old down pods. */
export async function pruneChunk(
  connection: Connection,
  ctx: MysqlContext,
  cutoff: number,
  chunk: number,
): Promise<{ steps: number; events: number; pods: number }> {
  const doomed = (await run<{ step_id: string }>(connection, ctx.sql.pruneDoomed, [cutoff, chunk])).map((r) => r.step_id);
  let events = 0;
  let steps = 0;
  if (doomed.length > 0) {
    events = await write(connection, ctx.sql.pruneEvents, [doomed]);
    await write(connection, ctx.sql.pruneEdges, [doomed]);
    steps = await write(connection, ctx.sql.pruneSteps, [doomed]);
  }
  const pods = await write(connection, ctx.sql.prunePods, [cutoff]);
  return { steps, events, pods };
}
