/**
 * The pure XState v5 machines of a FLEET-Q pod (DESIGN §4), by name. Everything here imports only
 * `xstate` and siblings, does no I/O and reads no clock: time passes only through named `after`
 * delays (values from input) and the step actor's `handler.timedOut`, and every effect is a named
 * placeholder actor that src/ provides, most simply with `providePodActors(impls)`. This file lists
 * exports; it must not add behaviour.
 *
 * Placeholder actors (`placeholders` in actors.ts; types there) and what src/ must make each do:
 * - `register` (supervisor) — input `{ incarnation, previousPodId }`; make a fresh pod id (`newPodId`) and
 *   `podRegister` it, retiring `previousPodId` in the same call; output `{ podId }`. Reject when the database fails: retried after `registerRetryDelay`.
 * - `claimSteps` (supervisor) — input `{ podId, limit }`; `stepClaim` of the registered types; output
 *   the claimed rows (at most `limit`; more is a bug the supervisor fails on). Reject with the
 *   store's `PodFencedError` (code `pod_fenced`) to fence at once.
 * - `markDown` (supervisor, end of drain) — input `{ podId }`; `podMarkDown`; output nothing.
 * - `heartbeat` (heartbeat) — input `{ podId }`; `podHeartbeat` with meta (in flight = the
 *   supervisor's `inFlight`); output `{ ok }`. Reject on a database error (a missed beat).
 * - `checkLeader` (leader) — input `{ podId }`; `leaderGet`; output `{ isLeader, leaderId, leaderLapsesInMs }`
 *   (the leader's last heartbeat + dead-pod threshold − the check's time, by DB time; a follower re-checks then).
 * - `recover` (leader) — input `{ podId, dryRun }`; `recoverySweep({ podId, dryRun })`; output its `RecoverySummary`.
 * - `prune` (leader) — input `{ olderThanMs }`; `retentionPrune`; output its `RetentionPruneResult`.
 * - `runStep` (slot; the step's own actor, one per claimed step) — a CALLBACK actor: input
 *   `{ podId, step }`; run the step's work (the registered handler, with `ctx.signal`); on
 *   `handler.abort` abort it (keep running until it settles); `sendBack` exactly one
 *   `handler.succeeded { result }` or `handler.failed { error, retryable }` (classify
 *   NonRetryableError / `retryable(err)` there; never let a rejection escape). On each
 *   `step.write { report }` make that fenced write (`report.kind` picks `stepComplete` | `stepFail`
 *   (with `reason`) | `stepRelease`) and answer `write.done { outcome }` (the applied outcome, or
 *   `stale` when the fence matched nothing) or `write.failed { error }` on a database error (retried).
 *   A success heard before any command is completed at once by the actor itself and reported as
 *   `success.written { outcome }` instead of `handler.succeeded` (on a database error it sends
 *   `handler.succeeded` and the slot asks for the write); a `step.write` arriving during that complete
 *   is answered, after `handler.succeeded`, with the complete's outcome (the attempt is recorded once).
 *   It times the attempt itself, on the actor system's clock: `step.timeoutMs` from its start, or `ms`
 *   from the handler's last `ctx.extend(ms)`; if that passes before the work settles and before any
 *   `handler.abort`, it sends `handler.timedOut { ms, extended }` once and leaves every write to the slot.
 *   The cleanup function clears that timer and aborts work still running.
 *
 * Talking to a running pod: send the supervisor `drain`, `work.available` (from `store.watchWork`)
 * and `recovery.run { requestId, force, dryRun }` (answered by a `recovery.*` fact with that
 * requestId); subscribe to `actor.on('*')` for every `PodFact`, and to `actor.subscribe({ error })`
 * so a crash is reported instead of exiting the process.
 */
import type { AnyStateMachine } from 'xstate';
import { heartbeatMachine } from './heartbeat.machine.js';
import { leaderMachine } from './leader.machine.js';
import { lifecycleMachine } from './lifecycle.machine.js';
import { slotMachine } from './slot.machine.js';
import { supervisorMachine } from './supervisor.machine.js';

export {
  placeholders,
  describeError,
  errorCode,
  type ClaimedStep,
  type ClaimStepsInput,
  type ClaimStepsOutput,
  type CheckLeaderOutput,
  type ExecuteStepInput,
  type HandlerAbortEvent,
  type HandlerFailedEvent,
  type HandlerSettledEvent,
  type HandlerSucceededEvent,
  type HandlerTimedOutEvent,
  type HeartbeatOutput,
  type PodActorImplementations,
  type PodInput,
  type PruneInput,
  type EnqueueSchedulesOutput,
  type RecoverInput,
  type RegisterInput,
  type RegisterOutput,
  type ReportStepInput,
  type ReportStepOutput,
  type StepActorCommand,
  type StepActorFact,
  type SuccessWrittenEvent,
  type StepReport,
  type StepWriteEvent,
  type WriteDoneEvent,
  type WriteFailedEvent,
} from './actors.js';
export {
  CLAIM_EVENTS,
  COMMANDS,
  DRAIN_EVENTS,
  EVENT_NAMES,
  HANDLER_EVENTS,
  HEARTBEAT_EVENTS,
  LEADER_EVENTS,
  POD_EVENTS,
  PRUNE_EVENTS,
  RECOVERY_EVENTS,
  SLOT_EVENTS,
  STEP_EVENTS,
  STEP_KINDS,
  STEP_OUTCOMES,
  WORK_EVENTS,
  stepOutcomeEvent,
  type AbortMode,
  type HandlerAbortReason,
  type HeartbeatFact,
  type LeaderFact,
  type PodFact,
  type PruneReport,
  type RecoveryRefusal,
  type RecoveryReport,
  type SlotFreedEvent,
  type StepKind,
  type StepOutcome,
  type SupervisorOwnFact,
} from './events.js';
export { heartbeatMachine, type HeartbeatMachineContext, type HeartbeatMachineInput } from './heartbeat.machine.js';
export {
  leaderMachine,
  type LeaderMachineContext,
  type LeaderMachineEvent,
  type LeaderMachineInput,
  type RecoveryRunEvent,
  type SweepRequest,
} from './leader.machine.js';
export {
  lifecycleMachine,
  LIFECYCLE_EVENT_TYPES,
  type DeadLetterReason,
  type LifecycleContext,
  type LifecycleEvent,
  type LifecycleInput,
  type LifecycleState,
} from './lifecycle.machine.js';
export {
  applyLifecycleEvent,
  lifecycleEventFromRecord,
  lifecycleStateOf,
  runLifecycle,
  startLifecycle,
  type LifecycleRecord,
  type LifecycleRun,
  type LifecycleSnapshot,
} from './lifecycle.oracle.js';
export { providePodActors } from './provide.js';
export {
  slotMachine,
  type SlotAssignEvent,
  type SlotMachineContext,
  type SlotMachineEvent,
  type SlotMachineInput,
  type StepAbortEvent,
} from './slot.machine.js';
export {
  supervisorMachine,
  slotId,
  slotIdsOf,
  type ChildFact,
  type SlotStack,
  type SupervisorCommand,
  type SupervisorMachineContext,
  type SupervisorMachineEvent,
  type SupervisorMachineInput,
} from './supervisor.machine.js';

/** Every machine by its name (and diagram file name in visualizations/). */
export const machines: Readonly<Record<'supervisor' | 'heartbeat' | 'leader' | 'slot' | 'lifecycle', AnyStateMachine>> = {
  supervisor: supervisorMachine,
  heartbeat: heartbeatMachine,
  leader: leaderMachine,
  slot: slotMachine,
  lifecycle: lifecycleMachine,
};
