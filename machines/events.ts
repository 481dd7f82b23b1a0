/**
 * The one vocabulary of event names shared by the machines, the logs (pino `event` field) and the
 * metrics (label values). Facts are past tense (`heartbeat.missed`), commands are imperative
 * (`drain`, `step.abort`). This file owns names and the shapes of the facts a pod publishes; it must
 * not hold behaviour, and it imports nothing (machines/ depends on `xstate` only, and this file not even on that).
 */

/**
 * The `kind` of a `step_events` row (DESIGN §2), which is also the event type of the lifecycle
 * machine. Kept equal to `STEP_EVENT_KINDS` of the Store contract by a unit test.
 */
export const STEP_KINDS = [
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
] as const;

/** One `step_events.kind`. */
export type StepKind = (typeof STEP_KINDS)[number];

/**
 * How one claimed step ended on this pod: the outcome its slot frees itself with. `stale` means the pod
 * holds no outcome for it any more (a fenced write matched no row, or the pod was fenced and gave up
 * its claims); the database row is then decided by whoever holds the claim, or by the recovery sweep.
 */
export const STEP_OUTCOMES = ['completed', 'retried', 'dead_lettered', 'released', 'stale'] as const;

/** One step outcome on this pod. */
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/** Why an in-flight step is aborted: drain grace over (`release`: give the step back) or self-fencing (`fenced`: claims are forfeit, write nothing). */
export type AbortMode = 'release' | 'fenced';

/** Why the handler's `ctx.signal` is aborted. */
export type HandlerAbortReason = 'timeout' | 'drain' | 'fenced';

/** Pod process facts. */
export const POD_EVENTS = {
  registered: 'pod.registered',
  registerFailed: 'pod.register_failed',
  fenced: 'pod.fenced',
  markDownFailed: 'pod.mark_down_failed',
  stopped: 'pod.stopped',
} as const;

/** Heartbeat facts, sent by the heartbeat machine to the supervisor. */
export const HEARTBEAT_EVENTS = {
  confirmed: 'heartbeat.confirmed',
  missed: 'heartbeat.missed',
  /** Liveness can no longer be proven (row down, or no confirmation within the fence window). */
  lost: 'heartbeat.lost',
  /** Logged by the runtime: a beat used more than half of the latency margin before self-fencing. */
  slow: 'heartbeat.slow',
} as const;

/** Leadership facts, sent by the leader machine to the supervisor. */
export const LEADER_EVENTS = {
  elected: 'leader.elected',
  lost: 'leader.lost',
  checkFailed: 'leader.check_failed',
} as const;

/** Recovery sweep facts; `refused` answers a `recovery.run` that could not start. */
export const RECOVERY_EVENTS = {
  completed: 'recovery.completed',
  failed: 'recovery.failed',
  refused: 'recovery.refused',
} as const;

/** Retention pruning facts. */
export const PRUNE_EVENTS = {
  completed: 'prune.completed',
  failed: 'prune.failed',
} as const;

/** Claim loop facts. */
export const CLAIM_EVENTS = {
  completed: 'claim.completed',
  failed: 'claim.failed',
} as const;

/** From the store's `watchWork`: steps may have become claimable; whether wake-ups are pushed now. */
export const WORK_EVENTS = {
  available: 'work.available',
  /** `{ listening }`: true while every change reaches the pod as `work.available` (no polling needed). */
  watch: 'work.watch',
} as const;

/** Drain facts. */
export const DRAIN_EVENTS = {
  started: 'drain.started',
  graceExpired: 'drain.grace_expired',
} as const;

/** Slot facts, sent by a slot to the supervisor. */
export const SLOT_EVENTS = {
  freed: 'slot.freed',
} as const;

/**
 * Step facts on this pod: one per outcome (`step.<outcome>`, carried by `slot.freed`), plus two names
 * the runtime logs itself: `step.claimed` for each row of a `claim.completed`, `step.timed_out` when it
 * reports a failure with reason `timeout`.
 */
export const STEP_EVENTS = {
  claimed: 'step.claimed',
  timedOut: 'step.timed_out',
  completed: 'step.completed',
  retried: 'step.retried',
  deadLettered: 'step.dead_lettered',
  released: 'step.released',
  stale: 'step.stale',
} as const;

/** What a step's running work reports back to its slot. */
export const HANDLER_EVENTS = {
  succeeded: 'handler.succeeded',
  failed: 'handler.failed',
} as const;

/** Commands (imperative): sent by the runtime or by one machine to another. */
export const COMMANDS = {
  /** Runtime → supervisor: SIGTERM/SIGINT, stop claiming and shut down. */
  drain: 'drain',
  /** Runtime → supervisor → leader: `POST /admin/recovery/run`. */
  runRecovery: 'recovery.run',
  /** Supervisor → slot: run this claimed step. */
  assignStep: 'slot.assign',
  /** Supervisor → slot → step: stop working on the step (see `AbortMode`). */
  abortStep: 'step.abort',
  /** Step → handler actor: abort `ctx.signal`. */
  abortHandler: 'handler.abort',
} as const;

/** Every event name above, for checking log and metric labels. */
export const EVENT_NAMES: readonly string[] = [
  ...STEP_KINDS,
  ...[
    POD_EVENTS,
    HEARTBEAT_EVENTS,
    LEADER_EVENTS,
    RECOVERY_EVENTS,
    PRUNE_EVENTS,
    CLAIM_EVENTS,
    WORK_EVENTS,
    DRAIN_EVENTS,
    SLOT_EVENTS,
    STEP_EVENTS,
    HANDLER_EVENTS,
    COMMANDS,
  ].flatMap((group) => Object.values(group)),
];

/** The log/metric event name of a step outcome. */
export function stepOutcomeEvent(outcome: StepOutcome): (typeof STEP_EVENTS)[keyof typeof STEP_EVENTS] {
  return `step.${outcome}` as const;
}

/** Mirrors the Store's `RecoverySummary` (machines cannot import src/); a unit test keeps them equal. */
export interface RecoveryReport {
  readonly dryRun: boolean;
  readonly deadPods: readonly string[];
  readonly orphanedSteps: readonly string[];
  readonly requeued: readonly string[];
  readonly deadLettered: readonly string[];
  readonly durationMs: number;
}

/** Mirrors the Store's `RetentionPruneResult`. */
export interface PruneReport {
  readonly steps: number;
  readonly events: number;
  readonly pods: number;
}

/** Why a manual recovery run did not start: another sweep is running, this pod is not the leader (and `force` was false), or the pod is not registered. */
export type RecoveryRefusal = 'busy' | 'not_leader' | 'unavailable';

export interface HeartbeatConfirmedEvent {
  readonly type: 'heartbeat.confirmed';
  readonly podId: string;
}
export interface HeartbeatMissedEvent {
  readonly type: 'heartbeat.missed';
  readonly podId: string;
  readonly error: string;
}
/** `down`: the pod's row is gone or `down`; `deadline`: no confirmed beat within the fence window. */
export interface HeartbeatLostEvent {
  readonly type: 'heartbeat.lost';
  readonly podId: string;
  readonly reason: 'down' | 'deadline';
}
export interface LeaderElectedEvent {
  readonly type: 'leader.elected';
  readonly podId: string;
}
export interface LeaderLostEvent {
  readonly type: 'leader.lost';
  readonly podId: string;
  readonly leaderId: string | null;
}
export interface LeaderCheckFailedEvent {
  readonly type: 'leader.check_failed';
  readonly podId: string;
  readonly error: string;
}
/** `requestId` is null for scheduled sweeps and echoes `recovery.run` otherwise. */
export interface RecoveryCompletedEvent {
  readonly type: 'recovery.completed';
  readonly requestId: string | null;
  readonly report: RecoveryReport;
}
export interface RecoveryFailedEvent {
  readonly type: 'recovery.failed';
  readonly requestId: string | null;
  readonly error: string;
}
export interface RecoveryRefusedEvent {
  readonly type: 'recovery.refused';
  readonly requestId: string;
  readonly reason: RecoveryRefusal;
}
export interface PruneCompletedEvent {
  readonly type: 'prune.completed';
  readonly report: PruneReport;
}
export interface PruneFailedEvent {
  readonly type: 'prune.failed';
  readonly error: string;
}
/** `error` is set when the step actor itself crashed (a bug): the slot is freed and the outcome is `stale`. */
export interface SlotFreedEvent {
  readonly type: 'slot.freed';
  readonly slotId: string;
  readonly stepId: string;
  readonly outcome: StepOutcome;
  readonly error?: string;
}

/** Facts the heartbeat machine sends to its parent. */
export type HeartbeatFact = HeartbeatConfirmedEvent | HeartbeatMissedEvent | HeartbeatLostEvent;
/** Facts (and answers) the leader machine sends to its parent. */
export type LeaderFact =
  | LeaderElectedEvent
  | LeaderLostEvent
  | LeaderCheckFailedEvent
  | RecoveryCompletedEvent
  | RecoveryFailedEvent
  | RecoveryRefusedEvent
  | PruneCompletedEvent
  | PruneFailedEvent;

/** Facts the supervisor itself publishes. */
export type SupervisorOwnFact =
  | { readonly type: 'pod.registered'; readonly podId: string; readonly incarnation: number }
  | { readonly type: 'pod.register_failed'; readonly incarnation: number; readonly error: string }
  | { readonly type: 'pod.fenced'; readonly podId: string; readonly inFlight: number }
  | { readonly type: 'pod.mark_down_failed'; readonly podId: string; readonly error: string }
  | { readonly type: 'pod.stopped'; readonly podId: string | null }
  | { readonly type: 'claim.completed'; readonly podId: string; readonly limit: number; readonly stepIds: readonly string[] }
  | { readonly type: 'claim.failed'; readonly podId: string; readonly error: string }
  | { readonly type: 'drain.started'; readonly podId: string; readonly inFlight: number }
  | { readonly type: 'drain.grace_expired'; readonly podId: string; readonly inFlight: number }
  | RecoveryRefusedEvent;

/**
 * Everything the supervisor emits (`actor.on('*', …)`): its own facts and every fact its children
 * report. The runtime logs each at its `type` and counts it in metrics.
 */
export type PodFact = SupervisorOwnFact | HeartbeatFact | LeaderFact | SlotFreedEvent;
