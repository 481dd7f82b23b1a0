/**
 * Rows as the statements of queries.ts return them, and their mapping to the Store's types. Owns the
 * column names of result sets only: no SQL, no connections. Times arrive as epoch ms (float8); `pg`
 * hands int8 over as strings (it cannot know the value fits a double), so those go through Number().
 */
import { compareClaimOrder } from '../flow.js';
import type { ClaimedStepRow, Json, PodMeta, PodRow, PodStatus, QueueStats, RecoverySummary, StepEvent, StepEventKind, StepRow, StepStatus } from '../store.js';

/** The columns of `stepColumns()` in queries.ts. */
export interface StepRecord {
  readonly step_id: string;
  readonly type: string;
  readonly args: Json;
  readonly metadata: { [key: string]: Json };
  readonly priority: number;
  readonly status: StepStatus;
  readonly claimed_by: string | null;
  readonly claim_token: string | null;
  readonly attempt: number;
  readonly retry_count: number;
  readonly max_retries: number;
  readonly release_count: number;
  readonly run_after_ms: number;
  readonly timeout_ms: string | number;
  readonly idempotency_key: string | null;
  readonly last_error: string | null;
  readonly result: Json | null;
  readonly progress: Json | null;
  readonly created_ms: number;
  readonly last_update_ms: number;
  readonly depends_on: string[];
  readonly waiting_on: number;
  readonly deadline_ms: number | null;
}

/** The columns of `claimedColumns()` in fragments.ts. */
export type ClaimedRecord = Pick<
  StepRecord,
  'step_id' | 'type' | 'args' | 'priority' | 'attempt' | 'timeout_ms' | 'idempotency_key' | 'created_ms' | 'depends_on' | 'deadline_ms'
>;

/** The columns of `podColumns()` in queries.ts. */
export interface PodRecord {
  readonly pod_id: string;
  readonly name: string;
  readonly birth_ms: number;
  readonly heartbeat_ms: number;
  readonly status: PodStatus;
  readonly meta: PodMeta;
  readonly live: boolean;
}

/** The columns of `eventListSql()`. */
export interface EventRecord {
  readonly event_id: string | number;
  readonly step_id: string;
  readonly ts_ms: number;
  readonly kind: StepEventKind;
  readonly pod_id: string | null;
  readonly attempt: number;
  readonly detail: { [key: string]: Json };
}

/** The one row of the recovery sweep and its preview: `[step_id, outcome]` pairs and pod ids. */
export interface SweepRecord {
  readonly steps: [string, 'recovered' | 'dead_lettered'][];
  readonly pods: string[];
}

/** The one row of `queueStatsSql()`: JSON aggregates. */
export interface StatsRecord {
  readonly by_status: { [status: string]: number };
  readonly by_priority: { [priority: string]: number };
  readonly by_type: { [type: string]: number };
  readonly pods: { podId: string; claimed: number; capacity: Json }[];
  readonly leader: string | null;
}

export function toStepRow(r: StepRecord): StepRow {
  return {
    ...toClaimedStepRow(r),
    metadata: r.metadata,
    status: r.status,
    claimedBy: r.claimed_by,
    claimToken: r.claim_token,
    retryCount: r.retry_count,
    maxRetries: r.max_retries,
    releaseCount: r.release_count,
    runAfter: r.run_after_ms,
    lastError: r.last_error,
    // A JSON `null` result and SQL NULL (no result yet) both read as null.
    result: r.result ?? null,
    progress: r.progress ?? null,
    lastUpdateTs: r.last_update_ms,
    waitingOn: r.waiting_on,
  };
}

export function toClaimedStepRow(r: ClaimedRecord): ClaimedStepRow {
  return {
    stepId: r.step_id,
    type: r.type,
    args: r.args,
    priority: r.priority,
    attempt: r.attempt,
    timeoutMs: Number(r.timeout_ms),
    idempotencyKey: r.idempotency_key,
    createdTs: r.created_ms,
    dependsOn: r.depends_on,
    deadline: r.deadline_ms,
  };
}

export function toPodRow(r: PodRecord): PodRow {
  return {
    podId: r.pod_id,
    name: r.name,
    birthTs: r.birth_ms,
    lastHeartbeatTs: r.heartbeat_ms,
    status: r.status,
    meta: r.meta,
    live: r.live,
  };
}

export function toStepEvent(r: EventRecord): StepEvent {
  return {
    eventId: Number(r.event_id),
    stepId: r.step_id,
    ts: r.ts_ms,
    kind: r.kind,
    podId: r.pod_id,
    attempt: r.attempt,
    detail: r.detail,
  };
}

/** Orders claimed rows as they were picked: `RETURNING` promises no order. */
export function byClaimOrder(a: ClaimedStepRow, b: ClaimedStepRow): number {
  return compareClaimOrder(a, b);
}

export function toRecoverySummary(r: SweepRecord, dryRun: boolean, durationMs: number): RecoverySummary {
  const pick = (outcome: string) => r.steps.filter(([, o]) => o === outcome).map(([id]) => id);
  return {
    dryRun,
    deadPods: r.pods,
    orphanedSteps: r.steps.map(([id]) => id),
    requeued: pick('recovered'),
    deadLettered: pick('dead_lettered'),
    durationMs,
  };
}

export function toQueueStats(r: StatsRecord): QueueStats {
  return {
    pending: r.by_status['pending'] ?? 0,
    claimed: r.by_status['claimed'] ?? 0,
    completed: r.by_status['completed'] ?? 0,
    failed: r.by_status['failed'] ?? 0,
    cancelled: r.by_status['cancelled'] ?? 0,
    pendingByPriority: r.by_priority,
    activeByType: r.by_type,
    // A pod whose meta lacks a numeric capacity (written by something else) counts as 0, not NaN.
    pods: r.pods.map((pod) => ({ podId: pod.podId, claimed: pod.claimed, capacity: typeof pod.capacity === 'number' ? pod.capacity : 0 })),
    leader: r.leader,
  };
}
