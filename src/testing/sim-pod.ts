/**
 * One pod of a simulated run: the real supervisor machine, provided with the real effects
 * (src/pod/implementations.ts) on a shared store, but on its own `SimulatedClock`, so a test moves time
 * by hand and can freeze one pod (a SIGSTOPped or dead process: no heartbeat, no timeout) while the
 * others go on. It owns the pod's actor and clock; it must not decide anything the machines or the
 * store decide, nor write to the store itself.
 */
import pino from 'pino';
import { createActor, SimulatedClock, type Actor } from 'xstate';
import { providePodActors, type SupervisorMachineInput, type supervisorMachine } from '../../machines/index.js';
import { createMetrics, registerPodMetrics } from '../metrics.js';
import { inFlightOf } from '../pod/health.js';
import { createPodActors } from '../pod/implementations.js';
import { PodTelemetry } from '../pod/telemetry.js';
import { fenceWindowMs } from '../config/liveness.js';
import type { LifecycleObservation } from '../steps/run-lifecycle.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Store } from '../store/store.js';

/** The dead-pod threshold of a simulated queue (its store policy and its pods' fence window). */
export const SIM_DEAD_POD_THRESHOLD_MS = 3_000;

/** Timings of a simulated pod: short, so deaths, sweeps and backoffs happen within seconds of simulated time. */
export const SIM_TIMING: SupervisorMachineInput = {
  capacity: 2,
  heartbeatIntervalMs: 500,
  fenceWindowMs: fenceWindowMs({ heartbeatIntervalMs: 500, deadPodThresholdMs: SIM_DEAD_POD_THRESHOLD_MS }),
  claimIntervalMs: 250,
  leaderCheckIntervalMs: 500,
  recoveryIntervalMs: 1_000,
  pruneIntervalMs: 3_600_000,
  retentionMs: 0,
  shutdownGraceMs: 500,
  registerRetryDelayMs: 500,
  reportRetryDelayMs: 500,
};

export interface SimPodOptions {
  readonly name: string;
  readonly store: Store;
  readonly registry: StepRegistry;
  /** World time (epoch ms) the pod starts at. */
  readonly now: number;
  readonly timing?: SupervisorMachineInput;
  readonly observeLifecycle?: (observation: LifecycleObservation) => void;
}

type SupervisorActor = Actor<typeof supervisorMachine>;

/** A pod whose clock moves only when the simulation says so. */
export class SimPod {
  readonly name: string;
  readonly clock = new SimulatedClock();
  readonly actor: SupervisorActor;
  /** Frozen: its timers do not fire (the process is stopped or dead). */
  paused = false;
  /** Its supervisor ended (drained, stopped or crashed). */
  ended = false;
  crash: unknown;

  constructor(options: SimPodOptions) {
    this.name = options.name;
    this.clock.set(options.now);
    const logger = pino({ level: 'silent' });
    const timing = options.timing ?? SIM_TIMING;
    // Assigned once, below: the closures handed to createPodActors read it only after that.
    // eslint-disable-next-line prefer-const
    let actor: SupervisorActor | undefined;
    const actors = createPodActors({
      store: options.store,
      registry: options.registry,
      config: { podId: options.name, maxParallelism: timing.capacity, capacityThreshold: 1 },
      logger,
      telemetry: new PodTelemetry(logger, registerPodMetrics(createMetrics()), () => actor?.getSnapshot().context.podId ?? null),
      inFlight: () => inFlightOf(actor?.getSnapshot()),
      lifecycles: { clock: this.clock, ...(options.observeLifecycle === undefined ? {} : { observeLifecycle: options.observeLifecycle }) },
    });
    actor = createActor(providePodActors(actors), { input: timing, clock: this.clock });
    this.actor = actor;
    actor.subscribe({
      complete: () => {
        this.ended = true;
      },
      error: (err) => {
        this.ended = true;
        this.crash = err;
      },
    });
    actor.start();
  }

  /** The pod's current incarnation id, once registered. */
  get podId(): string | null {
    return this.actor.getSnapshot().context.podId;
  }

  /** Steps running on this pod now. */
  get inFlight(): number {
    return this.ended ? 0 : inFlightOf(this.actor.getSnapshot());
  }

  /** Moves the pod's clock to `t` (firing due timers) unless it is frozen or ended. */
  advanceTo(t: number): void {
    if (!this.paused && !this.ended && t > this.clock.now()) this.clock.set(t);
  }

  /**
   * Moves a frozen pod's clock by `ms` (never past `limit`): a stopped process that resumes does a
   * little work before its overdue timers (heartbeat, fence) catch up with it.
   */
  nudge(ms: number, limit: number): void {
    if (!this.ended) this.clock.set(Math.min(limit, Math.max(this.clock.now(), this.clock.now() + ms)));
  }

  /** When its next timer is due; undefined when it has none (or is frozen). */
  nextDue(): number | undefined {
    if (this.paused || this.ended) return undefined;
    const timeouts = (this.clock as unknown as { timeouts: Map<unknown, { start: number; timeout: number }> }).timeouts;
    let next: number | undefined;
    for (const t of timeouts.values()) next = next === undefined ? t.start + t.timeout : Math.min(next, t.start + t.timeout);
    return next;
  }

  /** New work was submitted (what the store's wake-up hint says in production). */
  wake(): void {
    if (!this.ended && !this.paused) this.actor.send({ type: 'work.available' });
  }

  drain(): void {
    if (!this.ended) this.actor.send({ type: 'drain' });
  }

  /** Stops the actor without writing anything (end of the run). */
  stop(): void {
    if (this.actor.getSnapshot().status === 'active') this.actor.stop();
    this.ended = true;
  }
}
