/**
 * The snake_case bodies of the HTTP API (DESIGN §5), built from store results. Shared by src/http/,
 * the producer client and the CLI's `--json`, so all three print the same bytes for the same state.
 * Owns field names and time formatting (epoch ms → ISO-8601 UTC); must not read a store or a clock:
 * every value comes from its arguments.
 */
import type { PodHealthView, RecoveryRun } from '../pod/control.js';
import type { ScheduleReport } from '../schedules/report.js';
import type {
  DlqListResult,
  Json,
  LeaderInfo,
  MigrateResult,
  QueueAgeResult,
  QueueStats,
  StepCancelResult,
  StepEvent,
  StepRow,
  StepStatus,
  StepSubmitResult,
  WorkflowGraph,
} from '../store/store.js';

/** Epoch milliseconds as ISO-8601 UTC (`2023-11-14T22:13:20.000Z`). */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : isoTime(ms);
}

/** 201/200 body of POST /submit. */
export interface SubmitView {
  readonly step_id: string;
  readonly status: 'submitted' | 'duplicate';
  readonly message: string;
}

export function submitView(result: StepSubmitResult): SubmitView {
  const message =
    result.outcome === 'submitted'
      ? `Step ${result.stepId} submitted successfully`
      : `Step ${result.stepId} already exists with this idempotency key and identical args; nothing was submitted`;
  return { step_id: result.stepId, status: result.outcome, message };
}

/** 201 body of POST /submit/batch: ids in the order of the submitted steps. */
export interface BatchView {
  readonly step_ids: readonly string[];
}

export function batchView(results: readonly StepSubmitResult[]): BatchView {
  return { step_ids: results.map((r) => r.stepId) };
}

/** One `step_events` row in `history`, with the table's column names. */
export interface EventView {
  readonly event_id: number;
  readonly step_id: string;
  readonly ts: string;
  readonly kind: string;
  readonly pod_id: string | null;
  readonly attempt: number;
  readonly detail: { readonly [key: string]: Json };
}

export function eventView(event: StepEvent): EventView {
  return {
    event_id: event.eventId,
    step_id: event.stepId,
    ts: isoTime(event.ts),
    kind: event.kind,
    pod_id: event.podId,
    attempt: event.attempt,
    detail: event.detail,
  };
}

/** Body of GET /status/:step_id; `history` only when asked for. */
export interface StepView {
  readonly step_id: string;
  readonly status: StepStatus;
  readonly claimed_by: string | null;
  readonly last_update_ts: string;
  readonly retry_count: number;
  readonly priority: number;
  readonly created_ts: string;
  readonly max_retries: number;
  readonly payload: { readonly type: string; readonly args: Json; readonly metadata: { readonly [key: string]: Json } };
  readonly attempt: number;
  readonly last_error: string | null;
  readonly result: Json | null;
  /** Workflow parents; only for a step that has some. */
  readonly depends_on?: readonly string[];
  /** Within a priority, the earliest deadline is claimed first; null: none. */
  readonly deadline: string | null;
  /** The handler's latest `ctx.progress(value)`; null until it reports one. */
  readonly progress: Json | null;
  readonly history?: readonly EventView[];
}

export function stepView(step: StepRow, history?: readonly StepEvent[]): StepView {
  return {
    step_id: step.stepId,
    status: step.status,
    claimed_by: step.claimedBy,
    last_update_ts: isoTime(step.lastUpdateTs),
    retry_count: step.retryCount,
    priority: step.priority,
    created_ts: isoTime(step.createdTs),
    max_retries: step.maxRetries,
    payload: { type: step.type, args: step.args, metadata: step.metadata },
    attempt: step.attempt,
    last_error: step.lastError,
    result: step.result,
    ...(step.dependsOn.length === 0 ? {} : { depends_on: [...step.dependsOn] }),
    deadline: step.deadline === null ? null : isoTime(step.deadline),
    progress: step.progress,
    ...(history === undefined ? {} : { history: history.map(eventView) }),
  };
}

/** Body of GET /workflow/:step_id. */
export interface WorkflowView {
  readonly step_id: string;
  readonly nodes: readonly {
    readonly step_id: string;
    readonly type: string;
    readonly status: StepRow['status'];
    readonly depends_on: readonly string[];
    readonly waiting_on: number;
    readonly attempt: number;
    readonly retry_count: number;
    readonly last_error: string | null;
    readonly last_update_ts: string;
  }[];
  readonly edges: readonly { readonly step_id: string; readonly parent_step_id: string }[];
  readonly truncated: boolean;
}

export function workflowView(stepId: string, graph: WorkflowGraph): WorkflowView {
  return {
    step_id: stepId,
    nodes: graph.nodes.map((n) => ({
      step_id: n.stepId,
      type: n.type,
      status: n.status,
      depends_on: [...n.dependsOn],
      waiting_on: n.waitingOn,
      attempt: n.attempt,
      retry_count: n.retryCount,
      last_error: n.lastError,
      last_update_ts: isoTime(n.lastUpdateTs),
    })),
    edges: graph.edges.map((e) => ({ step_id: e.stepId, parent_step_id: e.parentStepId })),
    truncated: graph.truncated,
  };
}

/** Body of GET /idempotency/:step_id: the key handlers see (`ctx.idempotencyKey`). */
export interface IdempotencyView {
  readonly step_id: string;
  readonly idempotency_key: string;
}

export function idempotencyView(step: StepRow): IdempotencyView {
  return { step_id: step.stepId, idempotency_key: step.idempotencyKey ?? step.stepId };
}

/** Body of GET /admin/queue. */
export interface QueueView {
  readonly pending_steps: number;
  readonly claimed_steps: number;
  readonly completed_steps: number;
  readonly failed_steps: number;
  /** Cancelled by an operator: terminal, not in the DLQ. */
  readonly cancelled_steps: number;
  readonly active_pods: number;
  readonly current_leader: string | null;
  readonly queue_depth_by_priority: { readonly [priority: string]: number };
  readonly steps_by_type: { readonly [type: string]: number };
  readonly pod_capacity: { readonly [podId: string]: { readonly current: number; readonly max: number } };
  /** Per priority, seconds the longest-waiting due pending step has waited (database clock). */
  readonly oldest_pending_age_seconds_by_priority: { readonly [priority: string]: number };
  /** Pending steps whose deadline has passed. */
  readonly past_deadline_steps: number;
}

export function queueView(stats: QueueStats, age: QueueAgeResult): QueueView {
  return {
    pending_steps: stats.pending,
    claimed_steps: stats.claimed,
    completed_steps: stats.completed,
    failed_steps: stats.failed,
    cancelled_steps: stats.cancelled,
    active_pods: stats.pods.length,
    current_leader: stats.leader,
    queue_depth_by_priority: { ...stats.pendingByPriority },
    steps_by_type: { ...stats.activeByType },
    pod_capacity: Object.fromEntries(stats.pods.map((p) => [p.podId, { current: p.claimed, max: p.capacity }])),
    oldest_pending_age_seconds_by_priority: Object.fromEntries(
      age.byPriority.map((p) => [String(p.priority), Math.max(0, Math.round((age.checkedAt - p.oldestDueTs) / 1000))]),
    ),
    past_deadline_steps: age.pastDeadline,
  };
}

/** Body of GET /admin/leader. */
export interface LeaderView {
  readonly current_leader: string | null;
  readonly leader_birth_ts: string | null;
  readonly active_pods: number;
  readonly last_election_check: string;
  readonly election_details: {
    readonly eligible_pods: readonly { readonly pod_id: string; readonly birth_ts: string; readonly last_heartbeat_ts: string; readonly is_leader: boolean }[];
  };
}

/** Leadership is judged from the database at read time, so `last_election_check` is that read's time. */
export function leaderView(info: LeaderInfo): LeaderView {
  const leaderId = info.leader?.podId ?? null;
  return {
    current_leader: leaderId,
    leader_birth_ts: isoOrNull(info.leader?.birthTs),
    active_pods: info.livePods.length,
    last_election_check: isoTime(info.checkedAt),
    election_details: {
      eligible_pods: info.livePods.map((p) => ({
        pod_id: p.podId,
        birth_ts: isoTime(p.birthTs),
        last_heartbeat_ts: isoTime(p.lastHeartbeatTs),
        is_leader: p.podId === leaderId,
      })),
    },
  };
}

/** Body of GET /admin/dlq. */
export interface DlqView {
  readonly total: number;
  readonly steps: readonly {
    readonly step_id: string;
    readonly type: string;
    readonly retry_count: number;
    readonly last_error: string | null;
    readonly last_update_ts: string;
  }[];
}

export function dlqView(result: DlqListResult): DlqView {
  return {
    total: result.total,
    steps: result.steps.map((s) => ({
      step_id: s.stepId,
      type: s.type,
      retry_count: s.retryCount,
      last_error: s.lastError,
      last_update_ts: isoTime(s.lastUpdateTs),
    })),
  };
}

/** Body of POST /steps/:step_id/cancel. */
export interface CancelView {
  readonly step_id: string;
  readonly status: 'cancelled';
  readonly previous_status: 'pending' | 'claimed';
  readonly message: string;
}

export function cancelView(result: StepCancelResult): CancelView {
  const previous = result.previousStatus === 'claimed' ? 'claimed' : 'pending';
  const message =
    previous === 'claimed'
      ? `Step ${result.step.stepId} cancelled while running on ${result.step.claimedBy ?? 'a pod'}; its handler is aborted and its later writes are refused`
      : `Step ${result.step.stepId} cancelled before it ran`;
  return { step_id: result.step.stepId, status: 'cancelled', previous_status: previous, message };
}

/** Body of POST /admin/dlq/:step_id/replay. */
export interface ReplayView {
  readonly step_id: string;
  readonly status: StepStatus;
}

export function replayView(step: StepRow): ReplayView {
  return { step_id: step.stepId, status: step.status };
}

/** Body of POST /admin/recovery/run. */
export interface RecoveryView {
  readonly status: 'completed' | 'dry_run';
  readonly message: string;
  readonly recovery_summary: {
    readonly cycle_id: string;
    readonly dead_pods_found: number;
    readonly orphaned_steps_found: number;
    readonly steps_requeued: number;
    readonly steps_marked_terminal: number;
    readonly duration_ms: number;
    readonly dead_pods: readonly string[];
    readonly requeued_steps: readonly string[];
    readonly terminal_steps: readonly string[];
  };
}

export function recoveryView(run: RecoveryRun): RecoveryView {
  const s = run.summary;
  const counts = `${s.deadPods.length} dead pod(s), ${s.orphanedSteps.length} orphaned step(s): ${s.requeued.length} requeued, ${s.deadLettered.length} dead-lettered`;
  return {
    status: s.dryRun ? 'dry_run' : 'completed',
    message: s.dryRun ? `Dry run; nothing was written. Would handle ${counts}` : `Recovery cycle completed: ${counts}`,
    recovery_summary: {
      cycle_id: run.cycleId,
      dead_pods_found: s.deadPods.length,
      orphaned_steps_found: s.orphanedSteps.length,
      steps_requeued: s.requeued.length,
      steps_marked_terminal: s.deadLettered.length,
      // Whole milliseconds on every store (the PostgreSQL driver measures with performance.now()).
      duration_ms: Math.round(s.durationMs),
      dead_pods: [...s.deadPods],
      requeued_steps: [...s.requeued],
      terminal_steps: [...s.deadLettered],
    },
  };
}

/** Body of GET /health, for 200 and 503 alike. */
export interface HealthView {
  readonly pod_id: string | null;
  readonly status: PodHealthView['status'];
  readonly uptime_seconds: number;
  readonly current_capacity: number;
  readonly max_capacity: number;
  readonly is_leader: boolean;
  readonly version: string;
}

export function healthView(health: PodHealthView): HealthView {
  return {
    pod_id: health.podId,
    status: health.status,
    uptime_seconds: health.uptimeSeconds,
    current_capacity: health.inFlight,
    max_capacity: health.capacity,
    is_leader: health.isLeader,
    version: health.version,
  };
}

/** `fleet-q migrate --json` (no HTTP route). */
export interface MigrateView {
  readonly from_version: number;
  readonly to_version: number;
}

export function migrateView(result: MigrateResult): MigrateView {
  return { from_version: result.from, to_version: result.to };
}

/** One schedule in GET /admin/schedules. */
export interface ScheduleView {
  readonly name: string;
  readonly type: string;
  readonly cron: string;
  readonly timezone: string;
  readonly missed: 'skip' | 'backfill';
  /** `backfill: N`'s N; null for `skip`. */
  readonly backfill: number | null;
  readonly priority: number;
  readonly next_tick: string | null;
  readonly last_enqueued_tick: string | null;
  readonly last_step_id: string | null;
  readonly last_step_status: StepStatus | null;
}

/** Body of GET /admin/schedules. */
export interface SchedulesView {
  readonly checked_at: string;
  readonly schedules: ScheduleView[];
}

export function schedulesView(checkedAt: number, reports: readonly ScheduleReport[]): SchedulesView {
  return {
    checked_at: isoTime(checkedAt),
    schedules: reports.map(({ schedule, nextTick, lastEnqueued }) => ({
      name: schedule.name,
      type: schedule.type,
      cron: schedule.cron,
      timezone: schedule.timezone,
      missed: schedule.missed,
      backfill: schedule.missed === 'backfill' ? schedule.window : null,
      priority: schedule.submission.priority ?? 0,
      next_tick: isoOrNull(nextTick),
      last_enqueued_tick: isoOrNull(lastEnqueued?.tick),
      last_step_id: lastEnqueued?.stepId ?? null,
      last_step_status: lastEnqueued?.status ?? null,
    })),
  };
}
