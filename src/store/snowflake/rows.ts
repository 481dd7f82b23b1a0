/**
 * Rows as the Snowflake statements return them (upper-case column names, VARIANT already parsed by
 * the driver) and their mapping to the Store's types. Owns result-set column names only.
 */
import { compareClaimOrder } from '../flow.js';
import type { ClaimedStepRow, Json, PodMeta, PodRow, PodStatus, StepEvent, StepEventKind, StepRow, StepStatus } from '../store.js';

type Raw = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** VARIANT values arrive parsed; a JSON document stored as text (written by hand) is parsed here. */
function json(v: unknown): Json {
  if (v === undefined) return null;
  return v as Json;
}

export function toStepRow(r: Raw): StepRow {
  return {
    stepId: String(r['STEP_ID']),
    type: String(r['TYPE']),
    args: json(r['ARGS']),
    metadata: (json(r['METADATA']) ?? {}) as { [key: string]: Json },
    priority: num(r['PRIORITY']),
    status: String(r['STATUS']) as StepStatus,
    claimedBy: str(r['CLAIMED_BY']),
    claimToken: str(r['CLAIM_TOKEN']),
    attempt: num(r['ATTEMPT']),
    retryCount: num(r['RETRY_COUNT']),
    maxRetries: num(r['MAX_RETRIES']),
    releaseCount: num(r['RELEASE_COUNT']),
    runAfter: num(r['RUN_AFTER_MS']),
    timeoutMs: num(r['TIMEOUT_MS']),
    idempotencyKey: str(r['IDEMPOTENCY_KEY']),
    lastError: str(r['LAST_ERROR']),
    result: json(r['RESULT']),
    progress: json(r['PROGRESS']),
    createdTs: num(r['CREATED_MS']),
    lastUpdateTs: num(r['LAST_UPDATE_MS']),
    dependsOn: r['DEPENDS_ON'] === null || r['DEPENDS_ON'] === undefined ? [] : (JSON.parse(String(r['DEPENDS_ON'])) as string[]),
    waitingOn: r['WAITING_ON'] === null || r['WAITING_ON'] === undefined ? 0 : num(r['WAITING_ON']),
    deadline: r['DEADLINE_MS'] === null || r['DEADLINE_MS'] === undefined ? null : num(r['DEADLINE_MS']),
  };
}

export function toPodRow(r: Raw): PodRow {
  return {
    podId: String(r['POD_ID']),
    name: String(r['NAME']),
    birthTs: num(r['BIRTH_MS']),
    lastHeartbeatTs: num(r['HEARTBEAT_MS']),
    status: String(r['STATUS']) as PodStatus,
    meta: (json(r['META']) ?? {}) as PodMeta,
    live: r['LIVE'] === true || r['LIVE'] === 1 || r['LIVE'] === '1',
  };
}

export function toStepEvent(r: Raw): StepEvent {
  return {
    eventId: num(r['EVENT_ID']),
    stepId: String(r['STEP_ID']),
    ts: num(r['TS_MS']),
    kind: String(r['KIND']) as StepEventKind,
    podId: str(r['POD_ID']),
    attempt: num(r['ATTEMPT']),
    detail: (json(r['DETAIL']) ?? {}) as { [key: string]: Json },
  };
}

/** Claim order: priority DESC, deadline (nulls last), created_ts, step_id. */
export function byClaimOrder(a: ClaimedStepRow, b: ClaimedStepRow): number {
  return compareClaimOrder(a, b);
}
