/**
 * The effects the machines invoke, as named placeholder actors with typed input and output: the
 * contract between machines/ and the runtime in src/, which swaps each one for a real implementation
 * with `machine.provide({ actors })` (see `providePodActors`). A placeholder only fails loudly when it
 * was not provided; none of them does I/O, reads a clock or knows about a store.
 */
import { fromCallback, fromPromise, type CallbackActorLogic, type PromiseActorLogic } from 'xstate';
import type { HandlerAbortReason, PruneReport, RecoveryReport, StepOutcome } from './events.js';

/** What the machines need of a claimed `step_tracker` row (a `StepRow` is structurally one). */
export interface ClaimedStep {
  readonly stepId: string;
  readonly type: string;
  readonly args: unknown;
  /** The attempt of this claim: the fence of every write about it. */
  readonly attempt: number;
  readonly timeoutMs: number;
  readonly idempotencyKey: string | null;
  /** Workflow parents (all completed by the time a step is claimed); their results reach the handler. */
  readonly dependsOn?: readonly string[];
}

/**
 * `incarnation` counts registrations of this process: 1, then +1 after each self-fencing.
 * `previousPodId`: the incarnation this one replaces (null the first time), to be retired (`down`) in
 * the registration's own transaction so it never leads and its claims are recovered at the next sweep.
 */
export interface RegisterInput {
  readonly incarnation: number;
  readonly previousPodId: string | null;
}
/** The new pod id (`<name>-<8 hex>`, fresh for every incarnation so it never inherits old claims). */
export interface RegisterOutput {
  readonly podId: string;
}

export interface ClaimStepsInput {
  readonly podId: string;
  readonly limit: number;
}
/** At most `limit` rows. A `PodFencedError` (code `pod_fenced`) rejection fences the pod at once. */
export type ClaimStepsOutput = readonly ClaimedStep[];

export interface PodInput {
  readonly podId: string;
}
/** `ok: false`: the pod's row is gone or `down`. A rejection counts as a missed beat. */
export interface HeartbeatOutput {
  readonly ok: boolean;
}

/**
 * `leaderId`: the current leader's pod id, null when no pod is live. `leaderLapsesInMs`: by database
 * time, how long after the check the leader stops being live unless it beats again (its last heartbeat
 * + dead-pod threshold − the check's time); null when there is no leader or it is unknown.
 */
export interface CheckLeaderOutput {
  readonly isLeader: boolean;
  readonly leaderId: string | null;
  readonly leaderLapsesInMs?: number | null;
}

export interface RecoverInput {
  readonly podId: string;
  readonly dryRun: boolean;
}
export interface PruneInput {
  readonly olderThanMs: number;
}
/**
 * One enqueue round of the pod's recurring schedules committed. `nextInMs`: how long until the round
 * should run again (the next tick, by database time), null when no schedule fires again.
 */
export interface EnqueueSchedulesOutput {
  readonly nextInMs: number | null;
}

export interface ExecuteStepInput {
  readonly podId: string;
  readonly step: ClaimedStep;
}

/** Sent to the step's actor to abort `ctx.signal`; the actor keeps running until the handler settles. */
export interface HandlerAbortEvent {
  readonly type: 'handler.abort';
  readonly reason: HandlerAbortReason;
}
/** The handler resolved; `result` is stored as the step's result. */
export interface HandlerSucceededEvent {
  readonly type: 'handler.succeeded';
  readonly result: unknown;
}
/** The handler threw; `retryable: false` for `NonRetryableError` or a `retryable(err)` that said no. */
export interface HandlerFailedEvent {
  readonly type: 'handler.failed';
  readonly error: string;
  readonly retryable: boolean;
}
/**
 * The attempt's timeout elapsed while its work ran: `ms` after the actor started (the step's
 * `timeoutMs`), or, when `extended`, `ms` after the handler's last `ctx.extend(ms)`.
 */
export interface HandlerTimedOutEvent {
  readonly type: 'handler.timedOut';
  readonly ms: number;
  readonly extended: boolean;
}
/** What the step's actor sends back about its work, exactly once. */
export type HandlerSettledEvent = HandlerSucceededEvent | HandlerFailedEvent;

/** The fenced write to make about one attempt (Store `stepComplete` | `stepFail` | `stepRelease`). */
export type StepReport =
  | { readonly kind: 'complete'; readonly result: unknown }
  | { readonly kind: 'fail'; readonly error: string; readonly retryable: boolean; readonly reason: 'error' | 'timeout' }
  | { readonly kind: 'release' };

/** The step's actor is asked to make one fenced write about the attempt it runs. */
export interface StepWriteEvent {
  readonly type: 'step.write';
  readonly report: StepReport;
}
/** The write committed: the applied outcome, or `stale` when the fence matched no row. */
export interface WriteDoneEvent {
  readonly type: 'write.done';
  readonly outcome: StepOutcome;
}
/** The write failed with a database error (the slot retries it after a pause). */
export interface WriteFailedEvent {
  readonly type: 'write.failed';
  readonly error: string;
}

/**
 * The handler succeeded before the slot asked for any write or abort, and the step's actor already
 * made the one write a success calls for (the fenced complete): its outcome (`completed`, `stale`, or
 * `dead_lettered` for a result the store refuses). It replaces `handler.succeeded` → `step.write` →
 * `write.done`, two events and a transition fewer on every successful step.
 */
export interface SuccessWrittenEvent {
  readonly type: 'success.written';
  readonly outcome: StepOutcome;
}

/** Slot → step actor. */
export type StepActorCommand = HandlerAbortEvent | StepWriteEvent;
/** Step actor → slot. */
export type StepActorFact = HandlerSettledEvent | HandlerTimedOutEvent | WriteDoneEvent | WriteFailedEvent | SuccessWrittenEvent;

/** One fenced write about one attempt, as the runtime makes it for a `step.write`. */
export interface ReportStepInput {
  readonly podId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly report: StepReport;
}
/** The store's verdict: the applied outcome, or `stale` when the fence matched no row. */
export interface ReportStepOutput {
  readonly outcome: StepOutcome;
}

/** The message of an actor's rejection, as recorded in facts and `last_error`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}

/** The stable `code` of a rejection (a `FleetError`), if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function notProvided(name: string): never {
  throw new Error(`machine actor '${name}' was not provided; pass it with machine.provide({ actors })`);
}

/** Placeholder logic of every effect, by the name the machines invoke it under. */
export const placeholders = {
  register: fromPromise<RegisterOutput, RegisterInput>(async () => notProvided('register')),
  claimSteps: fromPromise<ClaimStepsOutput, ClaimStepsInput>(async () => notProvided('claimSteps')),
  markDown: fromPromise<void, PodInput>(async () => notProvided('markDown')),
  heartbeat: fromPromise<HeartbeatOutput, PodInput>(async () => notProvided('heartbeat')),
  checkLeader: fromPromise<CheckLeaderOutput, PodInput>(async () => notProvided('checkLeader')),
  recover: fromPromise<RecoveryReport, RecoverInput>(async () => notProvided('recover')),
  prune: fromPromise<PruneReport, PruneInput>(async () => notProvided('prune')),
  enqueueSchedules: fromPromise<EnqueueSchedulesOutput, PodInput>(async () => notProvided('enqueueSchedules')),
  /**
   * The step's own actor, one per claimed step, alive while its slot is busy with it. A callback
   * actor, not a promise: on a timeout the slot must tell the work to abort and still learn when it
   * settles. It runs the step's work and `sendBack`s exactly one `HandlerSettledEvent`, except that
   * a success heard before any command is completed by the actor at once and reported as one
   * `success.written` instead (a database error there: `handler.succeeded`, and the slot asks again);
   * on `handler.abort` it aborts the work (and keeps running until it settles); on each `step.write` it
   * makes that fenced write and answers `write.done` or `write.failed` (one arriving during its own
   * complete is answered with that complete's outcome, after `handler.succeeded`). Stopping it aborts work still
   * running. One actor for both halves because a child actor costs ~30 µs of CPU per step and an
   * event on a live one ~2 µs (xstate 5.33, measured for issue 11).
   *
   * It also owns the attempt's timeout: a timer on the actor system's clock, armed at start for
   * `step.timeoutMs` and re-armed `ms` from then by each `ctx.extend(ms)`. If it fires before the work
   * settles (and before any `handler.abort`), the actor sends `handler.timedOut` once and leaves every
   * write to the slot (why not as the slot's `after` delay: see slot.machine.ts).
   */
  runStep: fromCallback<StepActorCommand, ExecuteStepInput>(() => notProvided('runStep')),
};

/** The logic type each effect must have when provided. */
export interface PodActorImplementations {
  readonly register: PromiseActorLogic<RegisterOutput, RegisterInput>;
  readonly claimSteps: PromiseActorLogic<ClaimStepsOutput, ClaimStepsInput>;
  readonly markDown: PromiseActorLogic<void, PodInput>;
  readonly heartbeat: PromiseActorLogic<HeartbeatOutput, PodInput>;
  readonly checkLeader: PromiseActorLogic<CheckLeaderOutput, PodInput>;
  readonly recover: PromiseActorLogic<RecoveryReport, RecoverInput>;
  readonly prune: PromiseActorLogic<PruneReport, PruneInput>;
  /** Absent: the pod has no schedules (provide.ts supplies a round that enqueues nothing). */
  readonly enqueueSchedules?: PromiseActorLogic<EnqueueSchedulesOutput, PodInput>;
  readonly runStep: CallbackActorLogic<StepActorCommand, ExecuteStepInput>;
}
