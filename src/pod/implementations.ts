/**
 * The effects the pod machines invoke (machines/actors.ts), built from a Store, the step registry,
 * configuration and telemetry. Each promise actor makes one Store call (one transaction) and resolves
 * with what it committed, which reaches the machine as the actor's done event; a failure rejects and
 * reaches it as the error event. Nothing here retries, sleeps or crashes the process on a database
 * error: the machines decide what a failure means (a missed beat, a claim retried on the next wake-up,
 * a report retried after a pause). This file must not decide any of that, nor read a machine's state
 * beyond the in-flight count it is handed.
 */
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import type {
  CheckLeaderOutput,
  ClaimStepsInput,
  EnqueueSchedulesOutput,
  ClaimStepsOutput,
  HeartbeatOutput,
  PodActorImplementations,
  PodInput,
  PruneInput,
  PruneReport,
  RecoverInput,
  RecoveryReport,
  RegisterInput,
  RegisterOutput,
} from '../../machines/index.js';
import { capacityOf, type FleetConfig } from '../config/config.js';
import type { ExecuteStepDeps } from './execute-step.js';
import { completionBatcher } from './completions.js';
import { newPodId } from '../ids.js';
import type { Logger } from '../log.js';
import { stepActorLogic } from './step-actor.js';
import { CancellationWatch } from './step-control.js';
import type { PodTelemetry } from './telemetry.js';
import type { StepRegistry } from '../steps/registry.js';
import type { LeaderInfo, PodMeta, Store } from '../store/store.js';
import type { Schedule } from '../schedules/definition.js';
import { enqueueDueTicks, type TickMemory } from '../schedules/enqueue.js';
import { FLEET_Q_VERSION } from '../version.js';

/** What the effects are built from. */
export interface PodActorDeps {
  readonly store: Store;
  readonly registry: StepRegistry;
  /** Without `claimIntervalSeconds` (simulated pods) running steps hear of a cancel only through their progress writes. */
  readonly config: Pick<FleetConfig, 'podId' | 'maxParallelism' | 'capacityThreshold'> & Partial<Pick<FleetConfig, 'claimIntervalSeconds'>>;
  /** Parent of every handler's `ctx.log`. */
  readonly logger: Logger;
  readonly telemetry: PodTelemetry;
  /** Steps running on this pod now (the supervisor's busy slots), recorded in `pod_health.meta`. */
  readonly inFlight: () => number;
  /** Told of every committed leader read (for `/health` and `/admin/leader` freshness). */
  readonly onLeaderCheck?: (info: LeaderInfo) => void;
  /** Told how long each confirmed heartbeat took, in ms (heartbeat-latency.ts). */
  readonly onHeartbeat?: (podId: string, latencyMs: number) => void;
  /** Recurring schedules the leader enqueues (definition.ts, checked at load); none by default. */
  readonly schedules?: readonly Schedule[];
  /** Given to step lifecycles as `input.clock` and told what each answered (see ExecuteStepDeps). */
  readonly lifecycles?: Pick<ExecuteStepDeps, 'clock' | 'observeLifecycle'>;
}

/**
 * Longest wait between schedule rounds: keeps every delay far below setTimeout's 2^31 ms ceiling (a
 * monthly tick is further away than that) and lets a round re-read the time well before a tick.
 */
const MAX_SCHEDULE_WAIT_MS = 60_000;
/** A round runs this long after the tick it waits for, so a slightly fast local estimate still finds the tick due. */
const SCHEDULE_LATE_MS = 25;

/** Every effect of the pod machines, ready for `providePodActors`. */
export function createPodActors(deps: PodActorDeps): PodActorImplementations {
  const { store, registry, telemetry } = deps;
  const name = deps.config.podId;
  const capacity = capacityOf(deps.config);
  const host = hostname();
  const types = registry.types();
  // Every pod of the fleet passes its registry's limits, so a limited type is limited on every claim.
  const limits = registry.flowLimits();
  // Completions of steps that finish together are written as one batch (completions.ts).
  const completions = completionBatcher(store);
  // The database's clock, as seen at the last leader check: its time minus ours when the answer came.
  // A leader checks before it leads, so a schedule round always has an estimate; it lags the database
  // by at most one round trip, which only makes a tick a few ms late, never early.
  let dbClockOffsetMs = 0;
  const tickMemory: TickMemory = new Map();
  const schedules = deps.schedules ?? [];
  // Running steps hear of a cancel once per claim interval: the pod's own polling cadence.
  const checkEvery = deps.config.claimIntervalSeconds;
  const cancellations = checkEvery === undefined ? undefined : new CancellationWatch(store, Math.max(1, Math.round(checkEvery * 1000)), deps.logger);
  const meta = (): PodMeta => ({
    max_parallelism: deps.config.maxParallelism,
    capacity,
    in_flight: deps.inFlight(),
    version: FLEET_Q_VERSION,
    host,
  });
  /** Runs one Store call, counting a failure before the machine hears of it. */
  const call = async <T>(operation: keyof Store, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      telemetry.storeError(operation, err);
      throw err;
    }
  };

  return {
    register: fromPromise<RegisterOutput, RegisterInput>(async ({ input }) => {
      // A fresh id per incarnation: a re-registered pod never inherits, or hides, its old claims.
      const podId = newPodId(name);
      const previous = input.previousPodId === null ? {} : { previousPodId: input.previousPodId };
      await call('podRegister', () => store.podRegister({ podId, name, meta: meta(), ...previous }));
      return { podId };
    }),

    claimSteps: fromPromise<ClaimStepsOutput, ClaimStepsInput>(async ({ input }) => {
      const steps = await call('stepClaim', () => store.stepClaim({ podId: input.podId, types, limit: input.limit, limits }));
      telemetry.stepsClaimed(input.podId, steps);
      return steps;
    }),

    markDown: fromPromise<void, PodInput>(async ({ input }) => {
      await call('podMarkDown', () => store.podMarkDown({ podId: input.podId }));
    }),

    heartbeat: fromPromise<HeartbeatOutput, PodInput>(async ({ input }) => {
      const started = performance.now();
      const beat = await call('podHeartbeat', () => store.podHeartbeat({ podId: input.podId, meta: meta() }));
      if (beat.ok) deps.onHeartbeat?.(input.podId, performance.now() - started);
      return { ok: beat.ok };
    }),

    checkLeader: fromPromise<CheckLeaderOutput, PodInput>(async ({ input }) => {
      const info = await call('leaderGet', () => store.leaderGet());
      dbClockOffsetMs = info.checkedAt - Date.now();
      deps.onLeaderCheck?.(info);
      const leaderId = info.leader?.podId ?? null;
      const leaderLapsesInMs = info.leader === null ? null : info.leader.lastHeartbeatTs + store.policy.deadPodThresholdMs - info.checkedAt;
      return { isLeader: leaderId === input.podId, leaderId, leaderLapsesInMs };
    }),

    recover: fromPromise<RecoveryReport, RecoverInput>(({ input }) =>
      call('recoverySweep', () => store.recoverySweep({ podId: input.podId, dryRun: input.dryRun })),
    ),

    prune: fromPromise<PruneReport, PruneInput>(({ input }) => call('retentionPrune', () => store.retentionPrune({ olderThanMs: input.olderThanMs }))),

    ...(schedules.length === 0
      ? {}
      : {
          enqueueSchedules: fromPromise<EnqueueSchedulesOutput, PodInput>(async ({ input }) => {
            const now = Date.now() + dbClockOffsetMs;
            const round = await call('stepSubmitBatch', () => enqueueDueTicks({ store, schedules, now, memory: tickMemory }));
            for (const s of round.submits) {
              if (s.outcome === 'duplicate') continue;
              const fields = { pod_id: input.podId, schedule: s.schedule, tick: new Date(s.tick).toISOString(), step_id: s.stepId, outcome: s.outcome };
              if (s.outcome === 'submitted') deps.logger.info(fields, 'schedule tick enqueued');
              else deps.logger.warn(fields, 'schedule tick already enqueued with other args (the schedule changed); left as it was');
            }
            if (round.nextTickAt === null) return { nextInMs: null };
            return { nextInMs: Math.min(MAX_SCHEDULE_WAIT_MS, round.nextTickAt - (Date.now() + dbClockOffsetMs) + SCHEDULE_LATE_MS) };
          }),
        }),

    runStep: stepActorLogic({
      registry,
      store,
      completions,
      telemetry,
      logger: deps.logger,
      ...(cancellations === undefined ? {} : { cancellations }),
      ...deps.lifecycles,
    }),
  };
}
