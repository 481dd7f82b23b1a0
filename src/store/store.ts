/**
 * The `Store` contract: every rule of the queue that can be decided inside the database (DESIGN §2–3).
 * One method = one transaction; each takes one params object and returns a typed result. Drivers
 * (sqlite/, postgres/, snowflake/) implement it and are checked by the one suite in test/conformance/.
 * This file owns types only: no SQL, no driver imports, no machine imports.
 *
 * Times crossing this interface are epoch milliseconds (numbers), whatever the column type.
 * Every method that decides by time accepts an optional test-only `now` (epoch ms); when absent the
 * driver uses the database's clock (on SQLite: the host clock, since all pods of a file share a host).
 */

/** `failed` is the dead-letter queue; `cancelled` is an operator's stop, terminal and never replayed. */
export type StepStatus = 'pending' | 'claimed' | 'completed' | 'failed' | 'cancelled';
export const STEP_STATUSES: readonly StepStatus[] = ['pending', 'claimed', 'completed', 'failed', 'cancelled'];
/** Statuses no transition leaves except an operator's replay (of `failed` only). */
export const TERMINAL_STATUSES: readonly StepStatus[] = ['completed', 'failed', 'cancelled'];

export type PodStatus = 'up' | 'down';

/** The `kind` of a `step_events` row: exactly one per transition (DESIGN §2). */
export type StepEventKind =
  'submitted' | 'claimed' | 'completed' | 'retried' | 'recovered' | 'dead_lettered' | 'released' | 'replayed' | 'stale_write_rejected' | 'cancelled';

export const STEP_EVENT_KINDS: readonly StepEventKind[] = [
  'submitted',
  'claimed',
  'completed',
  'retried',
  'recovered',
  'dead_lettered',
  'released',
  'replayed',
  'stale_write_rejected',
  'cancelled',
];

/** JSON values as stored in `args`, `metadata`, `result`, `detail`, `meta`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One `step_tracker` row. */
export interface StepRow {
  readonly stepId: string;
  readonly type: string;
  readonly args: Json;
  readonly metadata: { [key: string]: Json };
  readonly priority: number;
  readonly status: StepStatus;
  readonly claimedBy: string | null;
  readonly claimToken: string | null;
  /** Claims so far; the attempt number of the current or last claim. */
  readonly attempt: number;
  readonly retryCount: number;
  readonly maxRetries: number;
  readonly releaseCount: number;
  /** Not claimable before this time (backoff, delays). */
  readonly runAfter: number;
  readonly timeoutMs: number;
  readonly idempotencyKey: string | null;
  readonly lastError: string | null;
  readonly result: Json | null;
  /** The handler's latest `ctx.progress(value)` (rate-limited, fenced); null until it reports one. */
  readonly progress: Json | null;
  readonly createdTs: number;
  readonly lastUpdateTs: number;
  /** Workflow parents (`depends_on`): the step is claimable only once every one of them completed. */
  readonly dependsOn: readonly string[];
  /**
   * The gate: how many of `dependsOn` have not completed yet. A `pending` step with `waitingOn > 0`
   * is never claimed; a `failed` one with `waitingOn > 0` was failed by an ancestor's dead-lettering
   * (it never ran), which is how replaying that ancestor finds it again.
   */
  readonly waitingOn: number;
  /** Within a priority, claims take the earliest deadline first (no deadline last); null: none. */
  readonly deadline: number | null;
}

/**
 * The fields of a step `stepClaim` answers: what a pod needs to run it, and its claim order. Not the
 * rest of the row (`stepGet` reads it): parsing every claimed row's metadata, counters, times and
 * nulls was about a tenth of a PostgreSQL pod's CPU per step.
 */
export const CLAIMED_STEP_FIELDS = [
  'stepId',
  'type',
  'args',
  'priority',
  'attempt',
  'timeoutMs',
  'idempotencyKey',
  'createdTs',
  'dependsOn',
  'deadline',
] as const;

/** A step as `stepClaim` answers it (`CLAIMED_STEP_FIELDS`), with the values the claim wrote (`attempt`). */
export type ClaimedStepRow = Pick<StepRow, (typeof CLAIMED_STEP_FIELDS)[number]>;

/** The claim's fields of a whole row, for drivers that read it anyway. */
export function claimedStepOf(row: StepRow): ClaimedStepRow {
  return Object.fromEntries(CLAIMED_STEP_FIELDS.map((field) => [field, row[field]])) as ClaimedStepRow;
}

/** One edge of a workflow: `stepId` depends on `parentStepId`. */
export interface WorkflowEdge {
  readonly stepId: string;
  readonly parentStepId: string;
}

/** The part of a workflow reachable from one step through its edges, either way (`workflowGraph`). */
export interface WorkflowGraph {
  /** Every step reached, ordered by step_id (creation order). */
  readonly nodes: readonly StepRow[];
  /** Every edge between reached steps, ordered by (stepId, parentStepId). */
  readonly edges: readonly WorkflowEdge[];
  /** True when the walk stopped at `limit` nodes: more of the graph exists. */
  readonly truncated: boolean;
}

/**
 * A workflow parent named at submit: an existing step id, or (in a batch only) `{ index }` of an
 * earlier item of the same batch.
 */
export type DependencyRef = string | { readonly index: number };

/** One `step_events` row: the audit trail. */
export interface StepEvent {
  readonly eventId: number;
  readonly stepId: string;
  readonly ts: number;
  readonly kind: StepEventKind;
  /**
   * The pod that caused the transition: the claimer, the writer of a fenced write (also when stale),
   * the sweeper of `recovered`/sweep `dead_lettered`; null for producers' `submitted` and operators' `replayed`.
   */
  readonly podId: string | null;
  readonly attempt: number;
  /** Reason, error, old values; see each method's TSDoc for what it records. */
  readonly detail: { [key: string]: Json };
}

/** `pod_health.meta`. */
export interface PodMeta {
  readonly max_parallelism: number;
  readonly capacity: number;
  readonly in_flight: number;
  readonly version: string;
  readonly host: string;
  readonly [key: string]: Json;
}

/** One `pod_health` row, with liveness judged by the database clock at read time. */
export interface PodRow {
  readonly podId: string;
  readonly name: string;
  readonly birthTs: number;
  readonly lastHeartbeatTs: number;
  readonly status: PodStatus;
  readonly meta: PodMeta;
  /** `status='up'` and `now − last_heartbeat_ts < deadPodThresholdMs`. */
  readonly live: boolean;
}

/** Rules fixed when a store is opened: they come from configuration and hold for every call. */
export interface StorePolicy {
  /** Retry backoff: `min(base × 2^(n−1), max) × U[0.5, 1]` for the n-th retry. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A pod is live while `now − last_heartbeat_ts < deadPodThresholdMs` and its status is `up`. */
  readonly deadPodThresholdMs: number;
  /** Releases beyond this many count as retries (DESIGN §3 Drain). */
  readonly maxReleases: number;
}

/** Optional test-only clock override, bound as a parameter (never spliced into SQL). */
export interface AtTime {
  readonly now?: number;
}

export interface StepSubmitParams extends AtTime {
  readonly type: string;
  readonly args: Json;
  readonly metadata?: { [key: string]: Json };
  readonly priority?: number;
  /** Resolved by the caller: submit > defineStep > FLEET_Q_DEFAULT_MAX_RETRIES. */
  readonly maxRetries: number;
  /** Resolved by the caller: submit > defineStep > FLEET_Q_DEFAULT_STEP_TIMEOUT_MS. */
  readonly timeoutMs: number;
  readonly idempotencyKey?: string | null;
  /** Not claimable before `now + delayMs` (default 0). */
  readonly delayMs?: number;
  /**
   * Workflow parents; the step stays gated (pending, not claimable) until each completed. Every
   * parent must exist and not be dead-lettered (`ValidationError` / `ConflictError`); `{ index }`
   * refers to an earlier item of the same batch, and only there.
   */
  readonly dependsOn?: readonly DependencyRef[];
  /** When the step should be done by (epoch ms); within a priority the earliest deadline is claimed first. */
  readonly deadline?: number | null;
}

export interface StepSubmitResult {
  readonly stepId: string;
  /** `duplicate`: a step with this `(type, idempotency_key)` and identical args already exists; nothing was written. */
  readonly outcome: 'submitted' | 'duplicate';
}

export interface StepSubmitBatchParams extends AtTime {
  readonly steps: readonly Omit<StepSubmitParams, 'now'>[];
}

export interface StepSubmitBatchResult {
  /** In the order of `steps`; a duplicate idempotency key with identical args yields the existing id. */
  readonly results: readonly StepSubmitResult[];
}

export interface StepClaimParams extends AtTime {
  readonly podId: string;
  /** Only steps of these types are claimed (the pod's registered types). Empty: claims nothing. */
  readonly types: readonly string[];
  /** At most this many steps (`capacity − in_flight`). */
  readonly limit: number;
  /**
   * Fleet-wide flow control of some of `types` (from the pod's registry; every pod must pass the same
   * limits for a type). The claim, in its own transaction, never takes a step that would leave more
   * than `concurrency` steps of its type `claimed`, or more than `rateLimit.max` claims of its type
   * started in any `rateLimit.intervalMs` window.
   */
  readonly limits?: readonly TypeFlowLimit[];
}

/** Flow control of one step type, enforced across every pod by the claim (see `StepClaimParams.limits`). */
export interface TypeFlowLimit {
  readonly type: string;
  /** At most this many steps of the type `claimed` at once (a positive integer). */
  readonly concurrency?: number;
  /** At most `max` claims of the type whose start lies in any window of `intervalMs` (positive integers). */
  readonly rateLimit?: { readonly max: number; readonly intervalMs: number };
}

/** Identifies one claim: fenced writes match `(step_id, claimed_by, attempt)` and `status='claimed'`. */
export interface ClaimRef extends AtTime {
  readonly stepId: string;
  readonly podId: string;
  readonly attempt: number;
}

/** `applied: false`: the fence matched no row; a `stale_write_rejected` event was written instead. */
export type FencedWriteResult<O extends string> =
  { readonly applied: true; readonly outcome: O; readonly step: StepRow } | { readonly applied: false; readonly outcome: 'stale' };

/** A fenced write's outcome without the row it wrote (`stepCompleteMany`'s answer per item). */
export type FencedWriteOutcome<O extends string> = { readonly applied: true; readonly outcome: O } | { readonly applied: false; readonly outcome: 'stale' };

/** `result` without its row. */
export function outcomeOf<O extends string>(result: FencedWriteResult<O>): FencedWriteOutcome<O> {
  return result.applied ? { applied: true, outcome: result.outcome } : { applied: false, outcome: 'stale' };
}

export interface StepCompleteParams extends ClaimRef {
  readonly result: Json;
}

export interface StepCompleteManyParams {
  readonly items: readonly StepCompleteParams[];
}

export interface StepFailParams extends ClaimRef {
  /** The error message recorded as `last_error`. */
  readonly error: string;
  /** `false`: dead-letter now whatever retries are left (NonRetryableError, `retryable(err)` false). */
  readonly retryable: boolean;
  /** Why the attempt failed; recorded in `detail.reason`. */
  readonly reason: 'error' | 'timeout';
}

export interface StepReleaseParams extends ClaimRef {
  readonly reason?: string;
}

export interface StepCancelParams extends AtTime {
  readonly stepId: string;
}

export interface StepCancelResult {
  /** The row after the cancel (`cancelled`; `claimed_by` and `attempt` kept, so the holder's writes are stale). */
  readonly step: StepRow;
  /** `pending` or `claimed`: what was cancelled. */
  readonly previousStatus: StepStatus;
}

export interface StepProgressParams extends ClaimRef {
  /** Serialised ≤ `MAX_PROGRESS_BYTES`; larger values throw `ValidationError`, writing nothing. */
  readonly progress: Json;
}

/** Largest serialised `progress` value: a status line, not a result channel. */
export const MAX_PROGRESS_BYTES = 4096;

/**
 * `applied: false`: the fence matched nothing and a `stale_write_rejected` event was written;
 * `status` is the row's status then (`cancelled` tells the holder to stop), null for an unknown step.
 */
export type StepProgressResult = { readonly applied: true } | { readonly applied: false; readonly status: StepStatus | null };

export interface StepCancelledAmongParams {
  readonly podId: string;
  /** The steps this pod is running; only these are looked up (by primary key). */
  readonly stepIds: readonly string[];
}

export interface StepReplayParams extends AtTime {
  readonly stepId: string;
}

export interface WorkflowGraphParams {
  readonly stepId: string;
  /** Most nodes to return (default 1000). */
  readonly limit?: number;
}

export interface PodRegisterParams extends AtTime {
  readonly podId: string;
  readonly name: string;
  readonly meta: PodMeta;
  /**
   * The pod id this process registered before (it fenced itself and re-registers under `podId`). In the
   * same transaction as the registration, that row is marked `down` if, and only if, it is still `up`
   * and has the same `name` (and is not `podId`); otherwise it is left exactly as it is. Its claims
   * then belong to a pod that is not live, so the next sweep recovers them.
   */
  readonly previousPodId?: string;
}

export interface PodHeartbeatParams extends AtTime {
  readonly podId: string;
  readonly meta?: PodMeta;
}

export interface PodHeartbeatResult {
  /** `false`: the row is gone or `down` (declared dead); nothing was written and the pod must fence itself. */
  readonly ok: boolean;
  readonly ts: number;
}

export interface LeaderInfo {
  /** The live pod with the smallest `(birth_ts, pod_id)`, or null when none is live. */
  readonly leader: PodRow | null;
  /** Live pods ordered by `(birth_ts, pod_id)`. */
  readonly livePods: readonly PodRow[];
  /** Database time at which liveness was judged. */
  readonly checkedAt: number;
}

export interface RecoverySweepParams extends AtTime {
  /** Report what would change; write nothing. */
  readonly dryRun?: boolean;
  /** The pod running the sweep, recorded as `pod_id` of the events it writes (the actor of the audit trail). */
  readonly podId?: string;
}

export interface RecoverySummary {
  readonly dryRun: boolean;
  /** Pods that were `up` but not live, now (or, dry run, to be) marked `down`. */
  readonly deadPods: readonly string[];
  /** Claimed steps whose holder is not live: `requeued` ∪ `deadLettered`. */
  readonly orphanedSteps: readonly string[];
  /** Orphans with retries left: `recovered` (pending with backoff). */
  readonly requeued: readonly string[];
  /** Orphans out of retries: `dead_lettered`. */
  readonly deadLettered: readonly string[];
  readonly durationMs: number;
}

export interface QueueStats {
  readonly pending: number;
  readonly claimed: number;
  readonly completed: number;
  readonly failed: number;
  /** Cancelled by an operator (terminal, not the DLQ). */
  readonly cancelled: number;
  /** Pending count per priority. */
  readonly pendingByPriority: { readonly [priority: string]: number };
  /** Pending + claimed count per type. */
  readonly activeByType: { readonly [type: string]: number };
  /** Live pods with their claimed count (from step_tracker) and capacity (from meta). */
  readonly pods: readonly { readonly podId: string; readonly claimed: number; readonly capacity: number }[];
  readonly leader: string | null;
}

/** Pending steps that are due (`run_after <= now`) at one priority, and how long the oldest has waited. */
export interface QueueAgeEntry {
  readonly priority: number;
  /** Pending steps of this priority with `run_after <= now` (claimable now, by a pod with the type). */
  readonly due: number;
  /** The smallest `run_after` among them: the time the longest-waiting one became claimable. */
  readonly oldestDueTs: number;
}

export interface QueueAgeResult {
  /** Database time at which `due` was judged. */
  readonly checkedAt: number;
  /** One entry per priority that has due steps, highest priority first; none when nothing is due. */
  readonly byPriority: readonly QueueAgeEntry[];
  /** Pending steps whose deadline is before `checkedAt` (due or not). */
  readonly pastDeadline: number;
}

export interface DlqListParams {
  readonly limit: number;
  readonly offset: number;
}

export interface DlqListResult {
  readonly total: number;
  /** Newest first (`last_update_ts DESC, step_id DESC`). */
  readonly steps: readonly StepRow[];
}

/** Which steps `stepList` returns; every filter is optional. */
export interface StepListParams {
  readonly status?: StepStatus;
  readonly type?: string;
  /** Steps whose id starts with this (ids are ASCII and time-ordered). */
  readonly stepIdPrefix?: string;
  readonly idempotencyKey?: string;
  readonly limit: number;
  readonly offset: number;
}

/** Recent activity from the audit trail, for dashboards: one read. */
export interface QueueActivityParams extends AtTime {
  /** Which event kinds to count. */
  readonly kinds: readonly StepEventKind[];
  /** How far back from now: buckets whose start lies in `(now − windowMs, now]`. */
  readonly windowMs: number;
  /** Width of one bucket; buckets start at multiples of it since the epoch, the last one holds `now`. */
  readonly bucketMs: number;
}

/** Events of one kind in one bucket. Buckets with no events are left out. */
export interface ActivityBucket {
  readonly bucketStart: number;
  readonly kind: StepEventKind;
  readonly count: number;
}

export interface QueueActivity {
  /** The database time the window ends at. */
  readonly now: number;
  readonly buckets: readonly ActivityBucket[];
}

export interface EventListParams {
  /** Only this step's events. */
  readonly stepId?: string;
  /** Only events with `event_id > afterEventId`. */
  readonly afterEventId?: number;
  readonly limit?: number;
}

export interface RetentionPruneParams extends AtTime {
  /** Delete terminal steps (and their events) last updated before `now − olderThanMs`, and `down` pods with no claims whose last heartbeat is that old. */
  readonly olderThanMs: number;
  /**
   * Steps deleted per transaction (default: the driver's, sized so one batch holds its locks well
   * under 100 ms). The prune runs batch after batch until one finds fewer, so claims and other
   * writes get in between batches; pods are pruned once, after the steps.
   */
  readonly batchSize?: number;
}

export interface RetentionPruneResult {
  readonly steps: number;
  readonly events: number;
  readonly pods: number;
}

export interface MigrateResult {
  readonly from: number;
  readonly to: number;
}

/** What a driver can do beyond the contract; callers adapt (e.g. wake-up strategy). */
export interface StoreCapabilities {
  readonly kind: 'sqlite' | 'postgres' | 'snowflake' | 'mysql';
  /** `true` when `watchWork` pushes (LISTEN/NOTIFY); `false` when it polls a cheap change marker. */
  readonly pushNotifications: boolean;
}

/**
 * The queue's persistence. Every method is one transaction (or one autocommit statement) and is
 * safe to call from several processes at once. Errors: `StoreError` classified by the driver, or a
 * `FleetError` subclass named in the method's TSDoc.
 */
export interface Store {
  readonly capabilities: StoreCapabilities;
  readonly policy: StorePolicy;

  /**
   * Creates or upgrades the schema with additive, versioned migrations, serialized across
   * processes. Throws `SchemaTooNewError` (and changes nothing) if the database is newer than this build.
   */
  migrate(): Promise<MigrateResult>;

  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;

  /**
   * Inserts a `pending` step and its `submitted` event in one transaction.
   * Idempotency: `(type, idempotency_key)` is unique while the row exists; a repeat with identical
   * args returns `duplicate` and the existing id, writing nothing; different args throw `ConflictError`.
   */
  stepSubmit(params: StepSubmitParams): Promise<StepSubmitResult>;

  /**
   * Like `stepSubmit` for many steps, all or none in one transaction. Throws `ValidationError`
   * (listing indexes) when two items share `(type, idempotency_key)`; `ConflictError` when an item
   * conflicts with an existing step.
   */
  stepSubmitBatch(params: StepSubmitBatchParams): Promise<StepSubmitBatchResult>;

  /**
   * Atomically claims up to `limit` pending, ungated (`waitingOn = 0`) steps of `types` with `run_after <= now`, ordered by
   * `priority DESC, deadline (nulls last), created_ts, step_id`, within the flow `limits`: sets `claimed`, `claimed_by`, `attempt + 1`, and writes one
   * `claimed` event each. Concurrent callers never receive the same step. Answers each claimed step's
   * `CLAIMED_STEP_FIELDS` as the claim left them, in claim order. Throws `PodFencedError`
   * (claiming nothing) when the pod's `pod_health` row is missing or `down`.
   */
  stepClaim(params: StepClaimParams): Promise<ClaimedStepRow[]>;

  /**
   * Fenced: `claimed → completed` storing `result`, event `completed`; else `stale_write_rejected`.
   * In the same transaction every child's gate (`waitingOn`) counts this parent as completed, so a
   * child whose parents all completed becomes claimable (also in `stepCompleteMany`).
   */
  stepComplete(params: StepCompleteParams): Promise<FencedWriteResult<'completed'>>;

  /**
   * Fenced completions of many claims at once, as a busy pod's runtime batches them: each item ends
   * exactly as `stepComplete` alone would (its own fence, clock, outcome, and `stale_write_rejected`
   * event), and a step named twice is judged in order (the second sees the first). The store writes
   * them together (one transaction on SQLite, one statement per round on PostgreSQL and Snowflake),
   * so a batch costs about one commit instead of one per step. Outcomes in input order, without the
   * rows: the runtime needs nothing more, and reading back and parsing every completed row (its args,
   * metadata and result) cost a PostgreSQL pod about 5-10 % of its CPU per step. Throws
   * `ValidationError` (writing nothing) when any item's result is too large or holds U+0000.
   */
  stepCompleteMany(params: StepCompleteManyParams): Promise<FencedWriteOutcome<'completed'>[]>;

  /**
   * Fenced: records `last_error`. Retries left (`retry_count < max_retries`) and retryable:
   * `pending`, `retry_count + 1 = n`, `run_after = now + min(base·2^(n−1), max)·U[0.5,1]`, event
   * `retried`. Otherwise `failed`, event `dead_lettered`. Stale: `stale_write_rejected`.
   * A dead-lettering also fails, in the same transaction, every pending descendant of the step
   * (transitively) with `last_error` naming it and one `dead_lettered` event each (reason
   * `parent_failed`); so does a dead-lettering by `stepRelease` or `recoverySweep`.
   */
  stepFail(params: StepFailParams): Promise<FencedWriteResult<'retried' | 'dead_lettered'>>;

  /**
   * Fenced: gives an unfinished step back (drain). While `release_count < maxReleases`: `pending`,
   * `run_after = now`, `release_count + 1`, `retry_count` unchanged, event `released`. Past the cap
   * the release counts as a retry, exactly as `stepFail` (events `retried` | `dead_lettered`).
   */
  stepRelease(params: StepReleaseParams): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>>;

  /** One row, or null. Reads only. */
  stepGet(params: { readonly stepId: string }): Promise<StepRow | null>;

  /**
   * Operator replay from the DLQ: `failed → pending`, `retry_count = 0`, `run_after = now`; attempt
   * and `last_error` kept; event `replayed` with the old retry_count in detail. `NotFoundError` for
   * an unknown id, `ConflictError` when the step is not `failed`. In the same transaction the
   * descendants its dead-lettering failed (failed with `waitingOn > 0`) go back to gated `pending`
   * the same way, each with a `replayed` event (reason `parent_replayed`).
   */
  stepReplay(params: StepReplayParams): Promise<StepRow>;

  /**
   * The results of `stepId`'s workflow parents, keyed by parent step id (null for a parent that has
   * no result or no longer exists). Empty for a step with no parents. Reads only.
   */
  stepParentResults(params: { readonly stepId: string }): Promise<{ [parentStepId: string]: Json | null }>;

  /** The workflow graph reachable from `stepId` (parents and children, transitively); null for an unknown id. Reads only. */
  workflowGraph(params: WorkflowGraphParams): Promise<WorkflowGraph | null>;

  /**
   * Operator cancel: `pending | claimed → cancelled`, event `cancelled` with the old status (and
   * holder) in detail; `claimed_by` and `attempt` are kept, so the holder's fenced writes find no
   * `claimed` row and are rejected as stale. `NotFoundError` for an unknown id, `ConflictError`
   * when the step is already terminal. Cancelled is terminal: never claimed, recovered or replayed.
   */
  stepCancel(params: StepCancelParams): Promise<StepCancelResult>;

  /**
   * Fenced like `stepComplete`: stores the handler's latest progress value (no event: progress is
   * not a transition). Stale: a `stale_write_rejected` event and the row's current status.
   * Throws `ValidationError` (writing nothing) when the value is too large or holds U+0000.
   */
  stepProgress(params: StepProgressParams): Promise<StepProgressResult>;

  /**
   * Of `stepIds`, those that are `cancelled` while still naming `podId` as holder: how a running
   * pod learns of a cancel through the database. One primary-key read; `[]` for no ids.
   */
  stepCancelledAmong(params: StepCancelledAmongParams): Promise<string[]>;

  /** Audit events in `event_id` order. Reads only. */
  eventList(params: EventListParams): Promise<StepEvent[]>;

  /** Inserts (or revives) the pod's row: `up`, `birth_ts = last_heartbeat_ts = now`; retires `previousPodId` (see its TSDoc) atomically. */
  podRegister(params: PodRegisterParams): Promise<PodRow>;

  /** Sets `last_heartbeat_ts = now` (and meta) only while the row is `up`; see `PodHeartbeatResult.ok`. */
  podHeartbeat(params: PodHeartbeatParams): Promise<PodHeartbeatResult>;

  /** Marks the pod `down` (end of drain). Leaves its claims to fenced writes and the sweep. */
  podMarkDown(params: { readonly podId: string } & AtTime): Promise<void>;

  /** Every pod row with liveness judged by DB time, ordered by `(birth_ts, pod_id)`. */
  podList(params?: AtTime): Promise<PodRow[]>;

  /** Leader = live pod with the smallest `(birth_ts, pod_id)`, judged by DB time in one read. */
  leaderGet(params?: AtTime): Promise<LeaderInfo>;

  /**
   * Recovery in one transaction of conditional statements, harmless if two pods run it at once:
   * claimed steps whose holder is not live (judged inside the statement) → `recovered` (retries
   * left: pending with backoff, `retry_count + 1`) or `dead_lettered`; pods `up` but not live →
   * `down`. `dryRun` reads the same sets and writes nothing.
   */
  recoverySweep(params?: RecoverySweepParams): Promise<RecoverySummary>;

  /** Counts by status, priority, type and pod. Reads only. */
  queueStats(params?: AtTime): Promise<QueueStats>;

  /**
   * How long due work has waited, per priority, in one statement (the leader's queue-age gauges
   * read it once per scrape). Steps waiting out a backoff or a delay are not due and not counted.
   * Reads only.
   */
  queueAge(params?: AtTime): Promise<QueueAgeResult>;

  /** `failed` steps, newest first, with the total count. Reads only. */
  dlqList(params: DlqListParams): Promise<DlqListResult>;

  /**
   * A page of steps matching every given filter. Order follows the index that serves the filter:
   * `pending` in claim order; `claimed`, `completed`, `failed` by `last_update_ts DESC, step_id DESC`;
   * no status by `step_id DESC` (newest first). Reads only.
   */
  stepList(params: StepListParams): Promise<StepRow[]>;

  /**
   * Counts of `kinds` events per bucket over the last `windowMs` (events at or before now), in one
   * read whose cost follows the events counted, not the trail's size.
   */
  queueActivity(params: QueueActivityParams): Promise<QueueActivity>;

  /** Deletes old history (see params). A no-op when `olderThanMs` is not positive. */
  retentionPrune(params: RetentionPruneParams): Promise<RetentionPruneResult>;

  /**
   * Calls `onWork` soon after steps may have become claimable (a submit, a release, a replay) by any
   * process; may call spuriously. SQLite polls a cheap change marker (every few ms); PostgreSQL listens.
   * Returns an unsubscribe function.
   *
   * `onListening(true)`, optional for a driver, says every such change will now reach `onWork`
   * (PostgreSQL: the LISTEN connection is up), so the pod stops polling for work;
   * `onListening(false)` says that stopped (the connection dropped), so it polls again. A driver that
   * never calls it is polled at the claim interval.
   */
  watchWork(onWork: () => void, onListening?: (listening: boolean) => void): () => void;
}
