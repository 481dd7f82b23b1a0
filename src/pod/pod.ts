/**
 * `createPod`: one in-process FLEET-Q pod. It wires the pure supervisor machine (machines/) to a real
 * Store through the effects of implementations.ts, turns the store's wake-up hint (`watchWork`: SQLite
 * polls `data_version` every few ms, PostgreSQL listens) into `work.available` (and the listener's state
 * into `work.watch`, so claim polls pause while LISTEN is up), and answers the HTTP
 * API through `PodControl`. Every timer is a delay of the machines; this file adds none. It owns the
 * pod object's life (start, drain, stop, the store it opened) and must not make any decision the
 * machines or the store make (what to claim, when to fence, a row's status).
 *
 * Heartbeats run on their own timer in the heartbeat machine, independent of step handlers, and no
 * store call is held while a handler runs, so steps cannot starve them through the database. They
 * share the event loop with handlers, though: handlers must be asynchronous. A CPU-bound handler that
 * blocks the loop longer than the fence window (config/liveness.ts) stops heartbeats, the
 * HTTP API and timeouts alike; the pod is then declared dead, its steps recovered elsewhere, and its
 * late writes rejected as stale. Run such work in a worker thread or child process.
 *
 * Life: `start()` loads the step types (built-ins + `steps` + FLEET_Q_HANDLERS), opens the store if
 * none was given, starts the supervisor and resolves after the first registration attempt (retried
 * in the background when it failed; `/health` says `starting` until one commits). `drain()` is DESIGN
 * §3 Drain and resolves once the pod is marked down. `stop()` is an immediate stop without drain:
 * timers stop, handlers' `ctx.signal` aborts, nothing is written (claims stay with the pod's `up` row
 * and are recovered by the sweep once its heartbeat ages out), a store this pod opened is closed.
 */
import { randomUUID } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import { providePodActors, type PodFact, type RecoveryRefusal, type supervisorMachine } from '../../machines/index.js';
import { capacityOf, resolveConfig, type FleetConfig, type FleetConfigInput } from '../config/config.js';
import { fenceWindowMs, livenessTimingOf } from '../config/liveness.js';
import { ConflictError, FleetError } from '../errors.js';
import { createPodActors } from './implementations.js';
import { createPodInspector, type PodInspector } from './inspect.js';
import { TURN_END_CLOCK } from './turn-clock.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, registerPodMetrics, type FleetMetrics } from '../metrics.js';
import type { PodControl, PodHealthView, RecoveryRun } from './control.js';
import { healthStatusOf, inFlightOf, isLeaderOf, livenessChecked, type PodPhase } from './health.js';
import { PodTelemetry } from './telemetry.js';
import { HeartbeatLatencyWatch } from './heartbeat-latency.js';
import { observePodRuntime } from '../metrics/pod-runtime.js';
import { instrumentStore } from '../metrics/store-timing.js';
import { supervisorInputOf } from './timing.js';
import { StepRegistry, type AnyStepDefinition } from '../steps/registry.js';
import { loadHandlerModule, loadHandlerSchedules, withBuiltinSteps } from '../steps/load.js';
import { compileSchedules, type Schedule, type ScheduleDefinition } from '../schedules/definition.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { FLEET_Q_VERSION } from '../version.js';

/** What `createPod` takes; every field is optional. */
export interface PodOptions {
  /** A loaded configuration, used as is, or overrides (camelCase keys) on top of the `FLEET_Q_*` environment. */
  readonly config?: Partial<FleetConfigInput> | FleetConfig;
  /** Step types besides the built-ins (`echo`, `sleep`, `fail`) and the FLEET_Q_HANDLERS module. */
  readonly steps?: readonly AnyStepDefinition[];
  /**
   * Recurring schedules (besides the FLEET_Q_HANDLERS module's `schedules` export) the pod enqueues
   * while it leads; checked at `start()`, which refuses (ConfigError listing every problem) a bad one.
   */
  readonly schedules?: readonly ScheduleDefinition[];
  /** Defaults to a logger built from the configuration (stderr). */
  readonly logger?: Logger;
  /** A store to use (the caller closes it); by default the pod opens the configured one and closes it when it ends. */
  readonly store?: Store;
  /** Where the pod counters go (share the HTTP API's so one GET /metrics shows both); fresh by default. */
  readonly metrics?: FleetMetrics;
}

/** How a pod ended: `drained` (drain completed), `stopped` (stop()), `crashed` (a bug in the runtime; `error` says what). */
export interface PodExit {
  readonly reason: 'drained' | 'stopped' | 'crashed';
  readonly error?: unknown;
}

/** A running pod; also the `PodControl` the HTTP API asks for health and recovery runs. */
export interface Pod extends PodControl {
  readonly config: FleetConfig;
  /** The current incarnation's id (`<name>-<8 hex>`, new after each self-fencing); null until registered. */
  readonly podId: string | null;
  /** The step types this pod claims; null until `start()` loaded them. */
  readonly registry: StepRegistry | null;
  /** The checked schedules this pod enqueues while it leads; empty until `start()` loaded them. */
  readonly schedules: readonly Schedule[];
  /** Resolves when the pod has ended, however it ended. */
  readonly exited: Promise<PodExit>;
  start(): Promise<void>;
  /** Stop claiming, let in-flight steps finish for the shutdown grace, release the rest, mark the pod down. */
  drain(): Promise<void>;
  /** Stop at once without writing anything (see the file header). */
  stop(): Promise<void>;
  /** Calls `listener` with every fact the pod's machines publish; returns the unsubscribe function. */
  onFact(listener: (fact: PodFact) => void): () => void;
}

/** Creates (does not start) a pod. Throws `ConfigError` for an invalid configuration. */
export function createPod(options: PodOptions = {}): Pod {
  return new FleetPod(options);
}

type SupervisorActor = Actor<typeof supervisorMachine>;
type RecoveryAnswer = Extract<PodFact, { type: 'recovery.completed' | 'recovery.failed' | 'recovery.refused' }>;

class FleetPod implements Pod {
  readonly config: FleetConfig;
  readonly exited: Promise<PodExit>;
  readonly #options: PodOptions;
  readonly #logger: Logger;
  readonly #telemetry: PodTelemetry;
  readonly #heartbeats: HeartbeatLatencyWatch;
  readonly #metrics: FleetMetrics;
  #unobserve: (() => void) | undefined;
  readonly #listeners = new Set<(fact: PodFact) => void>();
  #resolveExit: (exit: PodExit) => void = () => undefined;
  #phase: PodPhase = 'new';
  #registry: StepRegistry | null = null;
  #schedules: readonly Schedule[] = [];
  #store: Store | undefined;
  #actor: SupervisorActor | undefined;
  #unwatch: (() => void) | undefined;
  #inspector: PodInspector | undefined;
  #starting: Promise<void> | undefined;
  #finishing: Promise<void> | undefined;
  #startedAt: number | undefined;
  #lastLeaderCheck: number | null = null;
  /** Wall-clock time of the last registration or confirmed heartbeat: this process's proof of liveness. */
  #lastLivenessProof: number | undefined;

  constructor(options: PodOptions) {
    this.#options = options;
    this.config = resolveConfig(options.config ?? {});
    this.#logger = options.logger ?? createLogger(this.config);
    this.#metrics = options.metrics ?? createMetrics();
    const metrics = registerPodMetrics(this.#metrics);
    this.#telemetry = new PodTelemetry(this.#logger, metrics, () => this.podId);
    this.#heartbeats = new HeartbeatLatencyWatch(this.#telemetry, metrics.heartbeatLatency, this.config);
    this.exited = new Promise<PodExit>((resolve) => {
      this.#resolveExit = resolve;
    });
  }

  get podId(): string | null {
    return this.#actor?.getSnapshot().context.podId ?? null;
  }

  get registry(): StepRegistry | null {
    return this.#registry;
  }

  get schedules(): readonly Schedule[] {
    return this.#schedules;
  }

  start(): Promise<void> {
    if (this.#starting !== undefined && (this.#phase === 'starting' || this.#phase === 'running')) return this.#starting;
    if (this.#phase !== 'new') return Promise.reject(new FleetError('internal_error', 'this pod has ended; create a new one'));
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#phase = 'starting';
    this.#startedAt = Date.now();
    this.#unobserve = observePodRuntime(this.#metrics, {
      onFact: (listener) => this.onFact(listener),
      isLeader: () => isLeaderOf(this.#actor?.getSnapshot()),
      heartbeatAgeSeconds: () => (Date.now() - (this.#lastLivenessProof ?? this.#startedAt ?? Date.now())) / 1000,
    });
    let store: Store;
    try {
      const extra = this.config.handlers === undefined ? [] : await loadHandlerModule(this.config.handlers);
      this.#registry = new StepRegistry(withBuiltinSteps([...(this.#options.steps ?? []), ...extra]));
      const moduleSchedules = this.config.handlers === undefined ? [] : await loadHandlerSchedules(this.config.handlers);
      this.#schedules = compileSchedules([...(this.#options.schedules ?? []), ...moduleSchedules], this.#registry, this.config);
      store = this.#options.store ?? instrumentStore(await openStore(this.config), this.#metrics);
      this.#store = store;
      if (this.config.inspect !== undefined) this.#inspector = await createPodInspector(this.config.inspect);
    } catch (err) {
      await this.#finish('stopped');
      throw err;
    }
    if (this.#phase !== 'starting') return this.#finish('stopped'); // stop() or drain() came first

    const actors = createPodActors({
      store,
      registry: this.#registry,
      schedules: this.#schedules,
      config: this.config,
      logger: this.#logger,
      telemetry: this.#telemetry,
      inFlight: () => inFlightOf(this.#actor?.getSnapshot()),
      onLeaderCheck: (info) => {
        this.#lastLeaderCheck = info.checkedAt;
      },
      onHeartbeat: (podId, latencyMs) => this.#heartbeats.observe(podId, latencyMs),
    });
    const actor = createActor(providePodActors(actors), {
      input: supervisorInputOf(this.config),
      clock: TURN_END_CLOCK,
      ...(this.#inspector === undefined ? {} : { inspect: this.#inspector.inspect }),
    });
    this.#actor = actor;
    actor.on('*', (fact) => this.#publish(fact));
    actor.subscribe({
      complete: () => void this.#finish(this.#phase === 'stopped' ? 'stopped' : 'drained'),
      error: (err) => void this.#finish('crashed', err),
    });
    const firstAttempt = this.#nextFact((f) => f.type === 'pod.registered' || f.type === 'pod.register_failed');
    this.#phase = 'running';
    actor.start();
    this.#unwatch = store.watchWork(
      () => {
        if (actor.getSnapshot().status === 'active') actor.send({ type: 'work.available' });
      },
      (pushed) => {
        // A flow-limited step becomes claimable with no change to announce it (a rate window passes,
        // another pod's limited step ends), so a pod with limited types keeps polling at the claim
        // interval even while the store pushes new work.
        const listening = pushed && (this.#registry?.flowLimits().length ?? 0) === 0;
        this.#logger.debug({ listening }, listening ? 'store pushes new work: claim polls paused' : 'store listener dropped or flow limits: polling for work');
        if (actor.getSnapshot().status === 'active') actor.send({ type: 'work.watch', listening });
      },
    );
    await Promise.race([firstAttempt, this.exited]);
  }

  async drain(): Promise<void> {
    if (this.#phase === 'new') return this.#finish('drained');
    // Only a pod still starting is waited for: a running one must say `draining` from this call on.
    if (this.#phase === 'starting') await this.#starting?.catch(() => undefined);
    const actor = this.#actor;
    if (actor !== undefined && actor.getSnapshot().status === 'active' && this.#phase === 'running') {
      this.#phase = 'draining';
      actor.send({ type: 'drain' });
    }
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.#phase === 'new') return this.#finish('stopped');
    if (this.#phase === 'starting') this.#phase = 'stopped';
    await this.#starting?.catch(() => undefined);
    const actor = this.#actor;
    if (actor !== undefined && actor.getSnapshot().status === 'active') {
      this.#phase = 'stopped';
      this.#unwatch?.();
      actor.stop();
      this.#telemetry.event('info', 'pod.stopped', { pod_id: this.podId, drained: false }, 'pod stopped without drain');
    }
    await this.#finish('stopped');
  }

  onFact(listener: (fact: PodFact) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  health(): PodHealthView {
    const snapshot = this.#actor?.getSnapshot();
    const proofAgeMs = this.#lastLivenessProof === undefined ? undefined : Date.now() - this.#lastLivenessProof;
    return {
      podId: this.podId,
      status: livenessChecked(healthStatusOf(this.#phase, snapshot), proofAgeMs, fenceWindowMs(livenessTimingOf(this.config))),
      uptimeSeconds: this.#startedAt === undefined ? 0 : (Date.now() - this.#startedAt) / 1000,
      inFlight: inFlightOf(snapshot),
      capacity: capacityOf(this.config),
      isLeader: isLeaderOf(snapshot),
      version: FLEET_Q_VERSION,
      lastLeaderCheck: this.#lastLeaderCheck,
    };
  }

  async runRecovery(options: { readonly force: boolean; readonly dryRun: boolean; readonly requestId?: string }): Promise<RecoveryRun> {
    const actor = this.#actor;
    if (actor === undefined || actor.getSnapshot().status !== 'active') throw refusal('unavailable', options.force, this.podId);
    const requestId = options.requestId ?? randomUUID();
    const answer = this.#nextFact(
      (f): f is RecoveryAnswer =>
        (f.type === 'recovery.completed' || f.type === 'recovery.failed' || f.type === 'recovery.refused') && f.requestId === requestId,
    );
    actor.send({ type: 'recovery.run', requestId, force: options.force, dryRun: options.dryRun });
    const fact = await Promise.race([answer, this.exited.then(() => null)]);
    if (fact === null) throw refusal('unavailable', options.force, this.podId);
    if (fact.type === 'recovery.completed') return { cycleId: requestId, summary: fact.report };
    if (fact.type === 'recovery.failed') throw new FleetError('database_error', `recovery sweep failed: ${fact.error}`);
    throw refusal(fact.reason, options.force, this.podId);
  }

  #publish(fact: PodFact): void {
    if (fact.type === 'pod.registered' || fact.type === 'heartbeat.confirmed') this.#lastLivenessProof = Date.now();
    this.#telemetry.fact(fact);
    // Every finished step is a fact: most pods have no listener, so no copy of the set is made then.
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(fact);
      } catch (err) {
        this.#logger.error({ err }, 'a pod fact listener threw');
      }
    }
  }

  /** The next fact matching `match`. */
  #nextFact<F extends PodFact>(match: (fact: PodFact) => fact is F): Promise<F>;
  #nextFact(match: (fact: PodFact) => boolean): Promise<PodFact>;
  #nextFact(match: (fact: PodFact) => boolean): Promise<PodFact> {
    return new Promise((resolve) => {
      const unsubscribe = this.onFact((fact) => {
        if (!match(fact)) return;
        unsubscribe();
        resolve(fact);
      });
      void this.exited.then(unsubscribe);
    });
  }

  /** Ends the pod once: no more wake-ups, the store it opened closed, `exited` resolved. */
  #finish(reason: PodExit['reason'], error?: unknown): Promise<void> {
    this.#finishing ??= (async () => {
      this.#phase = reason === 'drained' ? 'drained' : 'stopped';
      this.#unwatch?.();
      this.#unwatch = undefined;
      this.#unobserve?.();
      this.#unobserve = undefined;
      this.#inspector?.stop();
      if (reason === 'crashed') this.#logger.fatal({ err: error, pod_id: this.podId }, 'pod supervisor crashed; the pod has stopped');
      if (this.#options.store === undefined && this.#store !== undefined) {
        await this.#store.close().catch((err: unknown) => this.#logger.warn({ err }, 'closing the store failed'));
      }
      this.#resolveExit(error === undefined ? { reason } : { reason, error });
    })();
    return this.#finishing;
  }
}

/** The error a refused or impossible recovery run answers with (see PodControl.runRecovery). */
function refusal(reason: RecoveryRefusal, force: boolean, podId: string | null): FleetError {
  switch (reason) {
    case 'busy':
      return new ConflictError('a recovery sweep is already running on this pod');
    case 'not_leader':
      return new FleetError('not_leader', `pod ${podId ?? '(unregistered)'} is not the leader; send { "force": true } to sweep from this pod anyway`);
    case 'unavailable':
      return force
        ? new FleetError('database_error', 'this pod is not registered (starting, re-registering after losing its heartbeat, or stopped); try again shortly')
        : new FleetError('not_leader', 'this pod is not registered, so it does not lead recovery; send { "force": true } to sweep anyway');
  }
}
