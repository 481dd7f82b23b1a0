/**
 * Row shapes of the SQLite tables as better-sqlite3 returns them (snake_case, JSON as TEXT) and
 * their mapping to the `Store` types. Owns decoding only: no SQL, no decisions.
 */
import { compareClaimOrder } from '../flow.js';
import type { ClaimedStepRow, Json, PodMeta, PodRow, PodStatus, StepEvent, StepEventKind, StepRow, StepStatus } from '../store.js';

/** One `step_tracker` row as stored. */
export interface StepRecord {
  readonly step_id: string;
  readonly type: string;
  readonly args: string;
  readonly metadata: string;
  readonly priority: number;
  readonly status: StepStatus;
  readonly claimed_by: string | null;
  readonly claim_token: string | null;
  readonly attempt: number;
  readonly retry_count: number;
  readonly max_retries: number;
  readonly release_count: number;
  readonly run_after: number;
  readonly timeout_ms: number;
  readonly idempotency_key: string | null;
  readonly last_error: string | null;
  readonly result: string | null;
  /** Added by migration 4. */
  readonly progress: string | null;
  readonly created_ts: number;
  readonly last_update_ts: number;
  readonly depends_on: string;
  readonly waiting_on: number;
  readonly deadline: number | null;
}

/** One `pod_health` row as stored, with `live` computed by the query (0 or 1). */
export interface PodRecord {
  readonly pod_id: string;
  readonly name: string;
  readonly birth_ts: number;
  readonly last_heartbeat_ts: number;
  readonly status: PodStatus;
  readonly meta: string;
  readonly live: number;
}

/** One `step_events` row as stored. */
export interface EventRecord {
  readonly event_id: number;
  readonly step_id: string;
  readonly ts: number;
  readonly kind: StepEventKind;
  readonly pod_id: string | null;
  readonly attempt: number;
  readonly detail: string;
}

export function toStepRow(r: StepRecord): StepRow {
  return {
    ...toClaimedStepRow(r),
    metadata: JSON.parse(r.metadata) as { [key: string]: Json },
    status: r.status,
    claimedBy: r.claimed_by,
    claimToken: r.claim_token,
    retryCount: r.retry_count,
    maxRetries: r.max_retries,
    releaseCount: r.release_count,
    runAfter: r.run_after,
    lastError: r.last_error,
    result: r.result === null ? null : (JSON.parse(r.result) as Json),
    progress: r.progress === null ? null : (JSON.parse(r.progress) as Json),
    lastUpdateTs: r.last_update_ts,
    waitingOn: r.waiting_on,
  };
}

export function toPodRow(r: PodRecord): PodRow {
  return {
    podId: r.pod_id,
    name: r.name,
    birthTs: r.birth_ts,
    lastHeartbeatTs: r.last_heartbeat_ts,
    status: r.status,
    meta: JSON.parse(r.meta) as PodMeta,
    live: r.live === 1,
  };
}

export function toStepEvent(r: EventRecord): StepEvent {
  return {
    eventId: r.event_id,
    stepId: r.step_id,
    ts: r.ts,
    kind: r.kind,
    podId: r.pod_id,
    attempt: r.attempt,
    detail: JSON.parse(r.detail) as { [key: string]: Json },
  };
}

/** The columns a claim returns (`CLAIMED_COLUMNS` in queries.ts). */
export type ClaimedRecord = Pick<
  StepRecord,
  'step_id' | 'type' | 'args' | 'priority' | 'attempt' | 'timeout_ms' | 'idempotency_key' | 'created_ts' | 'depends_on' | 'deadline'
>;

export function toClaimedStepRow(r: ClaimedRecord): ClaimedStepRow {
  return {
    stepId: r.step_id,
    type: r.type,
    args: JSON.parse(r.args) as Json,
    priority: r.priority,
    attempt: r.attempt,
    timeoutMs: r.timeout_ms,
    idempotencyKey: r.idempotency_key,
    createdTs: r.created_ts,
    dependsOn: JSON.parse(r.depends_on) as string[],
    deadline: r.deadline,
  };
}

/** The claim order (flow.ts), since RETURNING promises no order. */
export function byClaimOrder(a: ClaimedRecord, b: ClaimedRecord): number {
  const key = (r: ClaimedRecord) => ({ priority: r.priority, deadline: r.deadline, createdTs: r.created_ts, stepId: r.step_id });
  return compareClaimOrder(key(a), key(b));
}
