/**
 * The supervisor machine: one per pod process. It registers the pod, runs the claim loop, keeps the
 * heartbeat and leader machines alive for each incarnation, spawns `capacity` slots, drains on
 * request and fences itself when liveness is lost (DESIGN §3–4). It owns the claim loop and the
 * pod's phases; it must not run handlers or decide any row's status (steps and the store do), and it
 * reads no clock (every wait is an `after` delay).
 *
 * Layout: `registering` → `registered` { `running` → `draining` } → `stopped`; `fenced` → `registering`.
 * Heartbeat and leader are invoked by `registered`, which encloses both `running` and `draining`, so
 * a drain keeps beating (in-flight steps still hold claims) without restarting the fence window.
 * Slots are spawned once at start and outlive incarnations: after fencing, a slot whose aborted
 * handler has not settled stays busy, and the new incarnation claims only for idle slots.
 *
 * Claim loop: at most one `claimSteps` in flight, asking for exactly the idle slots. A claim starts
 * when a slot frees, on `work.available`, or after `claimInterval` (only with an idle slot: a full
 * pod waits for a slot to free instead of polling; and only while the store does not push every
 * change (`work.watch { listening: false }`, the start) or the last claim failed: an idle PostgreSQL
 * pod with LISTEN up runs no claim polls, and polls again from the moment its listener drops). Frees or wake-ups during a claim cause exactly one
 * follow-up claim right after it, if a slot is still idle. A free claims at the end of the
 * event-loop turn (`gathering`, a 0 ms delay), not at once: the steps of one completion batch free
 * their slots in one turn, one event each, and a claim started by the first would ask for 1 slot and
 * leave the rest to a follow-up, so a pod of capacity C would pay about three claims per C steps
 * instead of one. With `claimMinBatch` > 1, a free or a wake-up claims only once that many slots are
 * idle or nothing is running (a poll still claims for any idle slot, so a pod whose long steps hold
 * its slots keeps filling them). A `drain` during a claim waits for it and runs what it claimed (a
 * stopped claim could commit unseen, costing those steps a retry).
 *
 * Drain: stop claiming, let slots finish for `shutdownGrace`, then abort busy steps with `release`,
 * then `markDown` (its failure is published; the pod stops anyway) and reach `stopped` (final).
 * Fencing (`heartbeat.lost`, or a claim refused with `pod_fenced`): abort steps with `fenced`,
 * then register again as a new pod id; while draining it stops instead.
 */
import { assertEvent, assign, emit, enqueueActions, setup } from 'xstate';
import { describeError, errorCode, placeholders, type ClaimedStep, type RegisterOutput } from './actors.js';
import type { AbortMode, HeartbeatFact, LeaderFact, PodFact, SlotFreedEvent } from './events.js';
import { heartbeatMachine } from './heartbeat.machine.js';
import { leaderMachine, type RecoveryRunEvent } from './leader.machine.js';
import { slotMachine } from './slot.machine.js';

/** Everything from configuration; intervals in milliseconds. */
export interface SupervisorMachineInput {
  /** `max(1, floor(max_parallelism × capacity_threshold))`: the number of slots. */
  readonly capacity: number;
  readonly heartbeatIntervalMs: number;
  /** The heartbeat machine's fence window (derived from interval, threshold and latency budget in src/). */
  readonly fenceWindowMs: number;
  readonly claimIntervalMs: number;
  /**
   * While steps are running, a claim waits until at least this many slots are idle (a pod with
   * nothing running claims for any idle slot); 1 claims at the end of every turn in which a slot
   * freed. Where each statement costs (Snowflake), fewer, larger claims pay for the same steps.
   * Default 1.
   */
  readonly claimMinBatch?: number;
  readonly leaderCheckIntervalMs: number;
  readonly recoveryIntervalMs: number;
  readonly pruneIntervalMs: number;
  /** `FLEET_Q_RETENTION_DAYS` in ms; 0 keeps everything. */
  readonly retentionMs: number;
  readonly shutdownGraceMs: number;
  /** Pause before registering again after the database refused or failed. */
  readonly registerRetryDelayMs: number;
  /** Pause between attempts of a step's report that failed with a database error. */
  readonly reportRetryDelayMs: number;
}

/** What the runtime sends: SIGTERM/SIGINT, the store's wake-up hint and listener state, and the admin route. */
export type SupervisorCommand =
  { readonly type: 'drain' } | { readonly type: 'work.available' } | { readonly type: 'work.watch'; readonly listening: boolean } | RecoveryRunEvent;

/** Facts the children send up. */
export type ChildFact = HeartbeatFact | LeaderFact | SlotFreedEvent;

export type SupervisorMachineEvent = SupervisorCommand | ChildFact;

export interface SupervisorMachineContext extends SupervisorMachineInput {
  readonly claimMinBatch: number;
  /** The current incarnation's pod id; null before the first registration. */
  readonly podId: string | null;
  /** Registrations so far (the next one is `incarnation + 1`). */
  readonly incarnation: number;
  /**
   * The idle slots, as an immutable stack: taking or returning one is O(1) and shares the rest, so
   * no event copies a slot set (copying them per event made the tree's cost grow with capacity:
   * ~260 µs per step at P=400 against ~140 at P=50).
   */
  readonly idleSlots: SlotStack;
  readonly idleCount: number;
  /** Steps running now (busy slots). */
  readonly inFlight: number;
  /** The `limit` of the claim in flight (or the last one). */
  readonly claimLimit: number;
  /** A slot freed or work arrived while a claim was in flight. */
  readonly claimAgain: boolean;
  readonly drainRequested: boolean;
  /** The store pushes every change as `work.available` now (LISTEN is up): no claim polls needed. */
  readonly watchListening: boolean;
  /** The last claim failed: poll at the claim interval even while listening (no change may come). */
  readonly claimFailed: boolean;
}

const CHILD_FACTS = [
  'heartbeat.confirmed',
  'heartbeat.missed',
  'heartbeat.lost',
  'leader.elected',
  'leader.lost',
  'leader.check_failed',
  'recovery.completed',
  'recovery.failed',
  'recovery.refused',
  'prune.completed',
  'prune.failed',
  'slot.freed',
] as const satisfies readonly ChildFact['type'][];

/** The id of the i-th slot actor (also its entry in `idleSlots`). */
export function slotId(index: number): string {
  return `slot-${index}`;
}

/** An immutable stack of slot ids; null is empty. */
export type SlotStack = { readonly top: string; readonly rest: SlotStack } | null;

/** The slot ids of `stack`, top first (for tests and diagnostics; O(n)). */
export function slotIdsOf(stack: SlotStack): string[] {
  const ids: string[] = [];
  for (let s = stack; s !== null; s = s.rest) ids.push(s.top);
  return ids;
}

function stackOf(capacity: number): SlotStack {
  let stack: SlotStack = null;
  for (let i = capacity - 1; i >= 0; i--) stack = { top: slotId(i), rest: stack };
  return stack;
}

const inFlight = (context: SupervisorMachineContext): number => context.inFlight;

/** Whether `idle` slots with `running` steps make a claim: some idle, and a full batch or nothing running. */
function claimWorthwhile(idle: number, running: number, minBatch: number): boolean {
  return idle > 0 && (running === 0 || idle >= minBatch);
}
const podIdOf = (context: SupervisorMachineContext): string => context.podId ?? '';

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorMachineContext,
    input: {} as SupervisorMachineInput,
    events: {} as SupervisorMachineEvent,
    emitted: {} as PodFact,
  },
  actors: {
    register: placeholders.register,
    claimSteps: placeholders.claimSteps,
    markDown: placeholders.markDown,
    heartbeatMachine,
    leaderMachine,
    slotMachine,
  },
  delays: {
    claimInterval: ({ context }) => context.claimIntervalMs,
    shutdownGrace: ({ context }) => context.shutdownGraceMs,
    registerRetryDelay: ({ context }) => context.registerRetryDelayMs,
  },
  guards: {
    // A wake-up claims only a batch worth its statements: enough idle slots, or nothing running.
    claimWorthwhile: ({ context }) => claimWorthwhile(context.idleCount, context.inFlight, context.claimMinBatch),
    // Guards run before markSlotIdle: count the slot being freed.
    claimWorthwhileAfterFree: ({ context }) => claimWorthwhile(context.idleCount + 1, context.inFlight - 1, context.claimMinBatch),
    // Polls only fill a gap in the wake-ups: when they are not pushed, or the last claim failed.
    pollDue: ({ context }) => context.idleCount > 0 && (!context.watchListening || context.claimFailed),
    listenerLost: ({ context, event }) => event.type === 'work.watch' && !event.listening && context.idleCount > 0,
    allSlotsIdle: ({ context }) => inFlight(context) === 0,
    drainRequested: ({ context }) => context.drainRequested,
    // Guards run before the transition's actions: count the slots the claimed steps are about to take.
    followUpNeeded: ({ context }, params: { claimed: number }) =>
      context.claimAgain && claimWorthwhile(context.idleCount - params.claimed, context.inFlight + params.claimed, context.claimMinBatch),
    isFenceError: (_, params: { error: unknown }) => errorCode(params.error) === 'pod_fenced',
  },
  actions: {
    spawnSlots: enqueueActions(({ context, enqueue }) => {
      for (let i = 0; i < context.capacity; i++) {
        enqueue.spawnChild('slotMachine', {
          id: slotId(i),
          input: { slotId: slotId(i), reportRetryDelayMs: context.reportRetryDelayMs },
        });
      }
    }),
    recordRegistration: assign((_, params: RegisterOutput) => ({ podId: params.podId })),
    countIncarnation: assign({ incarnation: ({ context }) => context.incarnation + 1 }),
    // Publishes the claim and hands each claimed step to an idle slot.
    takeClaimedSteps: enqueueActions(({ context, enqueue }, params: { steps: readonly ClaimedStep[] }) => {
      enqueue.emit({
        type: 'claim.completed',
        podId: podIdOf(context),
        limit: context.claimLimit,
        stepIds: params.steps.map((s) => s.stepId),
      });
      // Only this action takes idle slots, so `limit` ≤ idle slots. A row beyond them would stay
      // claimed by a live pod that never runs it: fail loudly (the runtime's error observer) instead.
      if (params.steps.length > context.idleCount) {
        throw new Error(`claimSteps returned ${params.steps.length} steps for ${context.idleCount} idle slots (limit ${context.claimLimit})`);
      }
      let idle = context.idleSlots;
      for (const step of params.steps) {
        enqueue.sendTo((idle as NonNullable<SlotStack>).top, { type: 'slot.assign', podId: podIdOf(context), step });
        idle = (idle as NonNullable<SlotStack>).rest;
      }
      const taken = params.steps.length;
      enqueue.assign({ idleSlots: idle, idleCount: context.idleCount - taken, inFlight: context.inFlight + taken, claimAgain: false, claimFailed: false });
    }),
    // A slot sends exactly one slot.freed per assignment, so no membership check is needed.
    markSlotIdle: assign(({ context, event }) => {
      if (event.type !== 'slot.freed') return {};
      return { idleSlots: { top: event.slotId, rest: context.idleSlots }, idleCount: context.idleCount + 1, inFlight: context.inFlight - 1 };
    }),
    // markSlotIdle and requestFollowUp in one assign (one context copy): a busy pod frees most slots mid-claim.
    markSlotIdleDuringClaim: assign(({ context, event }) => {
      if (event.type !== 'slot.freed') return { claimAgain: true };
      return {
        idleSlots: { top: event.slotId, rest: context.idleSlots },
        idleCount: context.idleCount + 1,
        inFlight: context.inFlight - 1,
        claimAgain: true,
      };
    }),
    recordClaimLimit: assign({ claimLimit: ({ context }) => context.idleCount }),
    requestFollowUp: assign({ claimAgain: true }),
    recordWatch: assign({ watchListening: ({ context, event }) => (event.type === 'work.watch' ? event.listening : context.watchListening) }),
    recordClaimFailure: assign({ claimFailed: true }),
    requestDrain: assign({ drainRequested: true }),
    // Every slot is told (an idle one ignores it): rare (drain, fencing), so no busy set is kept for it.
    abortBusySlots: enqueueActions(({ context, enqueue }, params: { mode: AbortMode }) => {
      for (let i = 0; i < context.capacity; i++) enqueue.sendTo(slotId(i), { type: 'step.abort', mode: params.mode });
    }),
    forwardToLeader: enqueueActions(({ enqueue, event }) => {
      if (event.type === 'recovery.run') enqueue.sendTo('leader', event);
    }),
    publish: emit(({ event }) => {
      assertEvent(event, CHILD_FACTS);
      return event;
    }),
    publishRegistered: emit(({ context }) => ({ type: 'pod.registered', podId: podIdOf(context), incarnation: context.incarnation }) as const),
    publishRegisterFailed: emit(
      ({ context }, params: { error: unknown }) =>
        ({
          type: 'pod.register_failed',
          incarnation: context.incarnation + 1,
          error: describeError(params.error),
        }) as const,
    ),
    publishClaimFailed: emit(
      ({ context }, params: { error: unknown }) =>
        ({
          type: 'claim.failed',
          podId: podIdOf(context),
          error: describeError(params.error),
        }) as const,
    ),
    publishDrainStarted: emit(({ context }) => ({ type: 'drain.started', podId: podIdOf(context), inFlight: inFlight(context) }) as const),
    publishGraceExpired: emit(({ context }) => ({ type: 'drain.grace_expired', podId: podIdOf(context), inFlight: inFlight(context) }) as const),
    publishFenced: emit(({ context }) => ({ type: 'pod.fenced', podId: podIdOf(context), inFlight: inFlight(context) }) as const),
    publishMarkDownFailed: emit(
      ({ context }, params: { error: unknown }) =>
        ({
          type: 'pod.mark_down_failed',
          podId: podIdOf(context),
          error: describeError(params.error),
        }) as const,
    ),
    publishStopped: emit(({ context }) => ({ type: 'pod.stopped', podId: context.podId }) as const),
    refuseRecoveryRun: emit(
      ({ event }) =>
        ({
          type: 'recovery.refused',
          requestId: event.type === 'recovery.run' ? event.requestId : '',
          reason: 'unavailable',
        }) as const,
    ),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    ...input,
    claimMinBatch: Math.max(1, Math.min(input.capacity, Math.floor(input.claimMinBatch ?? 1))),
    podId: null,
    incarnation: 0,
    idleSlots: stackOf(input.capacity),
    idleCount: input.capacity,
    inFlight: 0,
    claimLimit: 0,
    claimAgain: false,
    drainRequested: false,
    watchListening: false,
    claimFailed: false,
  }),
  entry: 'spawnSlots',
  on: {
    // Handled here in every state; states that react further (claim loop, drain) repeat markSlotIdle.
    'slot.freed': { actions: ['markSlotIdle', 'publish'] },
    'heartbeat.confirmed': { actions: 'publish' },
    'heartbeat.missed': { actions: 'publish' },
    'leader.elected': { actions: 'publish' },
    'leader.lost': { actions: 'publish' },
    'leader.check_failed': { actions: 'publish' },
    'recovery.completed': { actions: 'publish' },
    'recovery.failed': { actions: 'publish' },
    'recovery.refused': { actions: 'publish' },
    'prune.completed': { actions: 'publish' },
    'prune.failed': { actions: 'publish' },
    'recovery.run': { actions: 'refuseRecoveryRun' },
    'work.watch': { actions: 'recordWatch' },
  },
  initial: 'registering',
  states: {
    registering: {
      invoke: {
        src: 'register',
        input: ({ context }) => ({ incarnation: context.incarnation + 1, previousPodId: context.podId }),
        onDone: {
          target: 'registered',
          actions: [{ type: 'recordRegistration', params: ({ event }) => event.output }, 'countIncarnation', 'publishRegistered'],
        },
        onError: { target: 'waitingToRegister', actions: { type: 'publishRegisterFailed', params: ({ event }) => ({ error: event.error }) } },
      },
      on: { drain: 'stopped' },
    },
    waitingToRegister: {
      after: { registerRetryDelay: 'registering' },
      on: { drain: 'stopped' },
    },
    registered: {
      invoke: [
        {
          id: 'heartbeat',
          src: 'heartbeatMachine',
          input: ({ context }) => ({
            podId: podIdOf(context),
            heartbeatIntervalMs: context.heartbeatIntervalMs,
            fenceWindowMs: context.fenceWindowMs,
          }),
        },
        {
          id: 'leader',
          src: 'leaderMachine',
          input: ({ context }) => ({
            podId: podIdOf(context),
            leaderCheckIntervalMs: context.leaderCheckIntervalMs,
            recoveryIntervalMs: context.recoveryIntervalMs,
            pruneIntervalMs: context.pruneIntervalMs,
            retentionMs: context.retentionMs,
          }),
        },
      ],
      on: {
        'heartbeat.lost': { target: 'fenced', actions: 'publish' },
        'recovery.run': { actions: 'forwardToLeader' },
      },
      initial: 'running',
      states: {
        running: {
          on: { drain: { target: 'draining', actions: 'requestDrain' } },
          initial: 'starting',
          states: {
            starting: { always: [{ guard: 'claimWorthwhile', target: 'claiming' }, { target: 'waiting' }] },
            waiting: {
              after: { claimInterval: { guard: 'pollDue', target: 'claiming' } },
              on: {
                'work.available': { guard: 'claimWorthwhile', target: 'claiming' },
                // Changes may have been missed while the listener was down: catch up, then poll again.
                'work.watch': [{ guard: 'listenerLost', target: 'claiming', actions: 'recordWatch' }, { actions: 'recordWatch' }],
                'slot.freed': [
                  { guard: 'claimWorthwhileAfterFree', target: 'gathering', actions: ['markSlotIdle', 'publish'] },
                  { actions: ['markSlotIdle', 'publish'] },
                ],
              },
            },
            // Steps that finished together free their slots in one event-loop turn, one event each;
            // the claim waits for the turn to end so it asks for all of them. A pod's clock runs a
            // 0 ms delay at the end of the turn (src/pod/turn-clock.ts), not 1 ms later.
            gathering: {
              after: { 0: 'claiming' },
              on: { 'slot.freed': { actions: ['markSlotIdle', 'publish'] } },
            },
            claiming: {
              entry: 'recordClaimLimit',
              invoke: {
                src: 'claimSteps',
                input: ({ context }) => ({ podId: podIdOf(context), limit: context.claimLimit }),
                onDone: [
                  {
                    guard: 'drainRequested',
                    target: '#supervisor.registered.draining',
                    actions: { type: 'takeClaimedSteps', params: ({ event }) => ({ steps: event.output }) },
                  },
                  {
                    guard: { type: 'followUpNeeded', params: ({ event }) => ({ claimed: event.output.length }) },
                    target: 'claiming',
                    reenter: true,
                    actions: { type: 'takeClaimedSteps', params: ({ event }) => ({ steps: event.output }) },
                  },
                  {
                    target: 'waiting',
                    actions: { type: 'takeClaimedSteps', params: ({ event }) => ({ steps: event.output }) },
                  },
                ],
                onError: [
                  { guard: { type: 'isFenceError', params: ({ event }) => ({ error: event.error }) }, target: '#supervisor.fenced' },
                  { guard: 'drainRequested', target: '#supervisor.registered.draining' },
                  { target: 'waiting', actions: ['recordClaimFailure', { type: 'publishClaimFailed', params: ({ event }) => ({ error: event.error }) }] },
                ],
              },
              on: {
                'slot.freed': { actions: ['markSlotIdleDuringClaim', 'publish'] },
                'work.available': { actions: 'requestFollowUp' },
                drain: { actions: 'requestDrain' },
              },
            },
          },
        },
        draining: {
          entry: 'publishDrainStarted',
          initial: 'finishing',
          states: {
            finishing: {
              always: { guard: 'allSlotsIdle', target: 'markingDown' },
              after: { shutdownGrace: 'aborting' },
            },
            aborting: {
              entry: ['publishGraceExpired', { type: 'abortBusySlots', params: { mode: 'release' } }],
              always: { guard: 'allSlotsIdle', target: 'markingDown' },
            },
            markingDown: {
              invoke: {
                src: 'markDown',
                input: ({ context }) => ({ podId: podIdOf(context) }),
                onDone: '#supervisor.stopped',
                onError: { target: '#supervisor.stopped', actions: { type: 'publishMarkDownFailed', params: ({ event }) => ({ error: event.error }) } },
              },
            },
          },
        },
      },
    },
    fenced: {
      entry: ['publishFenced', { type: 'abortBusySlots', params: { mode: 'fenced' } }],
      always: [{ guard: 'drainRequested', target: 'stopped' }, { target: 'registering' }],
    },
    // Reaching a final state stops every child: slots, steps, and the handlers they run.
    stopped: { type: 'final', entry: 'publishStopped' },
  },
});
