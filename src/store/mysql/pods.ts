/**
 * Pods and leadership on MySQL: register (insert or revive), heartbeat while up, mark down, list with
 * liveness judged by the database clock, and the leader (the live pod with the smallest
 * `(birth_ts, pod_id)`). Register runs inside the driver's transaction; the reads and the heartbeat
 * are single statements. Must not decide anything about steps.
 */
import type { LeaderInfo, PodHeartbeatParams, PodHeartbeatResult, PodRegisterParams, PodRow } from '../store.js';
import { runRead, run, type Connection, type Queryable } from './connection.js';
import { readClock, type MysqlContext } from './context.js';
import { toPodRow, type PodRecord } from './rows.js';

/**
 * Inserts or revives the pod's row (`up`, `birth_ts = last_heartbeat_ts = now`) and reads it back;
 * with `previousPodId`, first marks that incarnation down while it is still up under the same name.
 */
export async function registerPod(connection: Connection, ctx: MysqlContext, params: PodRegisterParams): Promise<PodRow> {
  const now = await readClock(connection, ctx, params.now);
  // A re-registration after fencing retires the incarnation it replaces in the same transaction.
  if (params.previousPodId !== undefined) await run(connection, ctx.sql.podRetire, [params.previousPodId, params.name, params.podId]);
  await run(connection, ctx.sql.podRegister, [params.podId, params.name, JSON.stringify(params.meta), now]);
  const [row] = await run<PodRecord>(connection, ctx.sql.podGet, [now, ctx.policy.deadPodThresholdMs, params.podId]);
  return toPodRow(row!);
}

/**
 * Sets `last_heartbeat_ts = now` (and meta) only while the row is up. The clock is read first and
 * bound, so the answer carries the exact time written; both statements may safely run twice.
 */
export async function heartbeatPod(pool: Queryable, ctx: MysqlContext, params: PodHeartbeatParams): Promise<PodHeartbeatResult> {
  const [clock] = await runRead<{ now_ms: number | string }>(pool, ctx.sql.clock, [params.now ?? null]);
  const ts = Number(clock!.now_ms);
  const meta = params.meta === undefined ? null : JSON.stringify(params.meta);
  const result = (await runRead(pool, ctx.sql.podHeartbeat, [ts, meta, params.podId])) as unknown as { affectedRows: number };
  return { ok: result.affectedRows === 1, ts };
}

/** Every pod with liveness judged at one clock reading, ordered by `(birth_ts, pod_id)`. */
export async function listPods(pool: Queryable, ctx: MysqlContext, nowParam: number | undefined): Promise<PodRow[]> {
  const [clock] = await runRead<{ now_ms: number | string }>(pool, ctx.sql.clock, [nowParam ?? null]);
  const rows = await runRead<PodRecord>(pool, ctx.sql.podList, [Number(clock!.now_ms), ctx.policy.deadPodThresholdMs]);
  return rows.map(toPodRow);
}

/** Live pods, eldest first, and the database time they were judged at. */
export async function readLeader(pool: Queryable, ctx: MysqlContext, nowParam: number | undefined): Promise<LeaderInfo> {
  const [clock] = await runRead<{ now_ms: number | string }>(pool, ctx.sql.clock, [nowParam ?? null]);
  const checkedAt = Number(clock!.now_ms);
  const rows = await runRead<PodRecord>(pool, ctx.sql.podListLive, [checkedAt, ctx.policy.deadPodThresholdMs]);
  const livePods = rows.map(toPodRow);
  return { leader: livePods[0] ?? null, livePods, checkedAt };
}
