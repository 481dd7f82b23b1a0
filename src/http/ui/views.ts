/**
 * The wire format of the dashboard's own JSON routes (/ui/api/*): overview, pods, a page of steps and
 * one step with its lifecycle path. Pure functions from store results to snake_case bodies with
 * ISO-8601 times, like src/http/views.ts (whose bodies they embed where one exists). Must not read a
 * store or the clock.
 */
import type { PodRow, QueueActivity, QueueAgeResult, QueueStats, StepEvent, StepRow } from '../../store/store.js';
import { isoTime, queueView, stepView, type QueueView, type StepView } from '../views.js';
import { lifecyclePath, type PathStep } from './lifecycle-path.js';

/** The event kinds the throughput chart shows, in drawing order. */
export const THROUGHPUT_KINDS = ['completed', 'retried', 'dead_lettered'] as const;

export interface ThroughputPoint {
  readonly ts: string;
  readonly completed: number;
  readonly retried: number;
  readonly dead_lettered: number;
}

export interface OverviewView {
  readonly now: string;
  readonly queue: QueueView;
  /** How long the longest-waiting due step has waited to be claimed; null when none is due. */
  readonly oldest_pending_age_seconds: number | null;
  readonly bucket_seconds: number;
  /** One point per bucket of the window, oldest first, zeros included. */
  readonly throughput: readonly ThroughputPoint[];
}

export function overviewView(stats: QueueStats, age: QueueAgeResult, activity: QueueActivity, windowMs: number, bucketMs: number): OverviewView {
  const oldestDueTs = age.byPriority.length === 0 ? null : Math.min(...age.byPriority.map((p) => p.oldestDueTs));
  const counts = new Map<number, { completed: number; retried: number; dead_lettered: number }>();
  const last = Math.floor(activity.now / bucketMs) * bucketMs;
  const first = last - (Math.ceil(windowMs / bucketMs) - 1) * bucketMs;
  for (let ts = first; ts <= last; ts += bucketMs) counts.set(ts, { completed: 0, retried: 0, dead_lettered: 0 });
  for (const b of activity.buckets) {
    const point = counts.get(b.bucketStart);
    if (point !== undefined && (THROUGHPUT_KINDS as readonly string[]).includes(b.kind)) point[b.kind as (typeof THROUGHPUT_KINDS)[number]] += b.count;
  }
  return {
    now: isoTime(activity.now),
    queue: queueView(stats, age),
    oldest_pending_age_seconds: oldestDueTs === null ? null : Math.max(0, Math.round((age.checkedAt - oldestDueTs) / 1000)),
    bucket_seconds: bucketMs / 1000,
    throughput: [...counts].map(([ts, c]) => ({ ts: isoTime(ts), ...c })),
  };
}

export interface PodView {
  readonly pod_id: string;
  readonly name: string;
  readonly status: string;
  readonly live: boolean;
  readonly is_leader: boolean;
  readonly birth_ts: string;
  readonly last_heartbeat_ts: string;
  readonly heartbeat_age_seconds: number;
  readonly capacity: number | null;
  readonly max_parallelism: number | null;
  readonly in_flight: number | null;
  readonly version: string | null;
  readonly host: string | null;
}

export interface PodsView {
  readonly now: string;
  readonly leader: string | null;
  readonly leader_birth_ts: string | null;
  readonly live_pods: number;
  readonly pods: readonly PodView[];
}

const numberOr = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const stringOr = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Live pods first (eldest first, so the leader leads), then down or silent pods, most recent first. */
export function podsView(pods: readonly PodRow[], leader: PodRow | null, now: number): PodsView {
  const live = pods.filter((p) => p.live);
  const gone = pods.filter((p) => !p.live).sort((a, b) => b.lastHeartbeatTs - a.lastHeartbeatTs);
  return {
    now: isoTime(now),
    leader: leader?.podId ?? null,
    leader_birth_ts: leader === null ? null : isoTime(leader.birthTs),
    live_pods: live.length,
    pods: [...live, ...gone].map((p) => ({
      pod_id: p.podId,
      name: p.name,
      status: p.status,
      live: p.live,
      is_leader: p.podId === leader?.podId,
      birth_ts: isoTime(p.birthTs),
      last_heartbeat_ts: isoTime(p.lastHeartbeatTs),
      heartbeat_age_seconds: Math.max(0, Math.round((now - p.lastHeartbeatTs) / 100) / 10),
      capacity: numberOr(p.meta.capacity),
      max_parallelism: numberOr(p.meta.max_parallelism),
      in_flight: numberOr(p.meta.in_flight),
      version: stringOr(p.meta.version),
      host: stringOr(p.meta.host),
    })),
  };
}

export interface StepSummaryView {
  readonly step_id: string;
  readonly type: string;
  readonly status: string;
  readonly priority: number;
  readonly attempt: number;
  readonly retry_count: number;
  readonly max_retries: number;
  readonly claimed_by: string | null;
  readonly idempotency_key: string | null;
  readonly last_error: string | null;
  readonly created_ts: string;
  readonly last_update_ts: string;
}

export interface StepPageView {
  readonly limit: number;
  readonly offset: number;
  /** True when the page is full, so a next page may exist (counting a large table is not worth it). */
  readonly has_more: boolean;
  readonly steps: readonly StepSummaryView[];
}

export function stepPageView(rows: readonly StepRow[], limit: number, offset: number): StepPageView {
  return {
    limit,
    offset,
    has_more: rows.length === limit,
    steps: rows.map((s) => ({
      step_id: s.stepId,
      type: s.type,
      status: s.status,
      priority: s.priority,
      attempt: s.attempt,
      retry_count: s.retryCount,
      max_retries: s.maxRetries,
      claimed_by: s.claimedBy,
      idempotency_key: s.idempotencyKey,
      last_error: s.lastError,
      created_ts: isoTime(s.createdTs),
      last_update_ts: isoTime(s.lastUpdateTs),
    })),
  };
}

export interface StepDetailView {
  readonly step: StepView;
  readonly idempotency_key: string;
  readonly run_after: string;
  readonly timeout_ms: number;
  readonly release_count: number;
  /** The audit trail replayed through the lifecycle machine: where each event took the step. */
  readonly path: readonly (Omit<PathStep, 'ts'> & { readonly ts: string })[];
}

export function stepDetailView(step: StepRow, history: readonly StepEvent[], maxReleases: number): StepDetailView {
  return {
    step: stepView(step, history),
    idempotency_key: step.idempotencyKey ?? step.stepId,
    run_after: isoTime(step.runAfter),
    timeout_ms: step.timeoutMs,
    release_count: step.releaseCount,
    path: lifecyclePath(history, maxReleases).map((p) => ({ ...p, ts: isoTime(p.ts) })),
  };
}
