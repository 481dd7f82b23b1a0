/**
 * Rows as mysql2 returns them from the statements of queries.ts, and their mapping to the Store's
 * types. Owns decoding only: no SQL, no decisions. JSON columns arrive as text (`jsonStrings`, and
 * MariaDB stores JSON as LONGTEXT anyway); the VARBINARY idempotency key arrives as a Buffer;
 * BIGINT times arrive as numbers (epoch ms fit a double exactly).
 */
import { compareClaimOrder } from '../flow.js';
import type { ClaimedStepRow, Json, PodMeta, PodRow, PodStatus, StepEvent, StepEventKind, StepRow, StepStatus } from '../store.js';

/** One `step_tracker` row as read by `STEP_COLUMNS`. */
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
  readonly run_after: number | string;
  readonly timeout_ms: number | string;
  readonly idempotency_key: Buffer | string | null;
  readonly last_error: string | null;
  readonly result: string | null;
  readonly progress: string | null;
  readonly created_ts: number | string;
  readonly last_update_ts: number | string;
  readonly depends_on: string | null;
  readonly waiting_on: number;
  readonly deadline: number | string | null;
}

/** A locked step row with the transaction's clock. */
export type LockedStepRecord = StepRecord & { readonly now_ms: number | string };

/** One `pod_health` row, with `live` computed by the query (0 or 1). */
export interface PodRecord {
  readonly pod_id: string;
  readonly name: string;
  readonly birth_ts: number | string;
  readonly last_heartbeat_ts: number | string;
  readonly status: PodStatus;
  readonly meta: string;
  readonly live: number | string;
}

/** One `step_events` row. */
export interface EventRecord {
  readonly event_id: number | string;
  readonly step_id: string;
  readonly ts: number | string;
  readonly kind: StepEventKind;
  readonly pod_id: string | null;
  readonly attempt: number;
  readonly detail: string;
}

/** JSON text as its value; a value mysql2 already parsed passes through. */
export function parseJson<T = Json>(text: string | null | T): T | null {
  if (text === null) return null;
  return typeof text === 'string' ? (JSON.parse(text) as T) : text;
}

/** The idempotency key as text (VARBINARY arrives as a Buffer). */
export function keyText(key: Buffer | string | null): string | null {
  if (key === null) return null;
  return Buffer.isBuffer(key) ? key.toString('utf8') : key;
}

export function toStepRow(r: StepRecord): StepRow {
  return {
    stepId: r.step_id,
    type: r.type,
    args: parseJson(r.args),
    metadata: parseJson<{ [key: string]: Json }>(r.metadata) ?? {},
    priority: r.priority,
    status: r.status,
    claimedBy: r.claimed_by,
    claimToken: r.claim_token,
    attempt: r.attempt,
    retryCount: r.retry_count,
    maxRetries: r.max_retries,
    releaseCount: r.release_count,
    runAfter: Number(r.run_after),
    timeoutMs: Number(r.timeout_ms),
    idempotencyKey: keyText(r.idempotency_key),
    lastError: r.last_error,
    // A JSON `null` result and SQL NULL (no result yet) both read as null.
    result: parseJson(r.result) ?? null,
    progress: parseJson(r.progress) ?? null,
    createdTs: Number(r.created_ts),
    lastUpdateTs: Number(r.last_update_ts),
    dependsOn: parseJson<string[]>(r.depends_on) ?? [],
    waitingOn: Number(r.waiting_on),
    deadline: r.deadline === null ? null : Number(r.deadline),
  };
}

export function toPodRow(r: PodRecord): PodRow {
  return {
    podId: r.pod_id,
    name: r.name,
    birthTs: Number(r.birth_ts),
    lastHeartbeatTs: Number(r.last_heartbeat_ts),
    status: r.status,
    meta: parseJson<PodMeta>(r.meta)!,
    live: Number(r.live) === 1,
  };
}

export function toStepEvent(r: EventRecord): StepEvent {
  return {
    eventId: Number(r.event_id),
    stepId: r.step_id,
    ts: Number(r.ts),
    kind: r.kind,
    podId: r.pod_id,
    attempt: r.attempt,
    detail: parseJson<{ [key: string]: Json }>(r.detail) ?? {},
  };
}

/** Orders claimed rows as they were picked. */
export function byClaimOrder(a: ClaimedStepRow, b: ClaimedStepRow): number {
  return compareClaimOrder(a, b);
}
