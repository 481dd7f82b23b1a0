/**
 * Pod rows in SQLite: register, heartbeat, mark down, list, and the leader read. Liveness is judged
 * by the statements with the bound clock. Must not touch steps: orphaned claims are the sweep's.
 */
import type { LeaderInfo, PodHeartbeatParams, PodHeartbeatResult, PodRegisterParams, PodRow } from '../store.js';
import { type SqliteContext } from './context.js';
import { toPodRow, type PodRecord } from './rows.js';

/**
 * Inserts or revives the pod: `up`, born and last seen `now`; in the same transaction (the caller's),
 * marks `previousPodId` down if it is still `up` under the same name.
 */
export function registerPod(ctx: SqliteContext, params: PodRegisterParams, now: number): PodRow {
  if (params.previousPodId !== undefined) {
    ctx.statement('podRetire').run({ previousPodId: params.previousPodId, podId: params.podId, name: params.name });
  }
  const row = ctx.statement('podRegister').get({
    podId: params.podId,
    name: params.name,
    meta: JSON.stringify(params.meta),
    deadPodThresholdMs: ctx.policy.deadPodThresholdMs,
    now,
  }) as PodRecord;
  return toPodRow(row);
}

/** Refreshes the heartbeat only while the row is `up`: a pod declared dead must not revive itself. */
export function heartbeatPod(ctx: SqliteContext, params: PodHeartbeatParams, now: number): PodHeartbeatResult {
  const meta = params.meta === undefined ? null : JSON.stringify(params.meta);
  const row = ctx.statement('podHeartbeat').get({ podId: params.podId, meta, now });
  return { ok: row !== undefined, ts: now };
}

export function markPodDown(ctx: SqliteContext, podId: string): void {
  ctx.statement('podMarkDown').run({ podId });
}

/** Every pod ordered by `(birth_ts, pod_id)`, liveness judged at `now`. */
export function listPods(ctx: SqliteContext, now: number): PodRow[] {
  const rows = ctx.statement('podList').all({ deadPodThresholdMs: ctx.policy.deadPodThresholdMs, now }) as PodRecord[];
  return rows.map(toPodRow);
}

/** The eldest live pod leads; one read, so the leader and the live list agree. */
export function readLeader(ctx: SqliteContext, now: number): LeaderInfo {
  const livePods = listPods(ctx, now).filter((p) => p.live);
  return { leader: livePods[0] ?? null, livePods, checkedAt: now };
}
