/**
 * A pod's logs and metrics, derived from what its actors report: every `PodFact` the supervisor emits,
 * plus the few events only the runtime sees (`step.claimed`, `step.timed_out`, `stale_write_rejected`,
 * failed store calls). One vocabulary: the `event` field of a log line and the `event` label of
 * `fleet_q_pod_events_total` are the names of machines/events.ts. Owns levels, fields and counting;
 * must not change what the pod does (it only observes).
 */
import { performance } from 'node:perf_hooks';
import {
  HEARTBEAT_EVENTS,
  STEP_EVENTS,
  describeError,
  errorCode,
  stepOutcomeEvent,
  type ClaimedStep,
  type PodFact,
  type StepKind,
} from '../../machines/index.js';
import { StoreError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PodMetrics } from '../metrics.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
type EventName = PodFact['type'] | (typeof STEP_EVENTS)[keyof typeof STEP_EVENTS] | StepKind | typeof HEARTBEAT_EVENTS.slow;

/** A step this pod claimed and has not finished: for the attempt and duration of its outcome line. */
interface Running {
  readonly attempt: number;
  readonly type: string;
  readonly podId: string;
  readonly claimedAt: number;
  /** A later claim of the same step, still running (rare: only across a fenced incarnation). */
  later: Running | undefined;
}

/** The log and metrics sink of one pod: facts in, log lines and counter increments out. */
export class PodTelemetry {
  /**
   * step id → the oldest claim not yet finished, chained to later ones (a fenced incarnation's step
   * may still settle while a new one runs it again); no array per step.
   */
  readonly #running = new Map<string, Running>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: PodMetrics,
    /** The current incarnation's id, for lines whose fact does not carry one. */
    private readonly currentPodId: () => string | null,
  ) {}

  /** Logs and counts one fact the supervisor emitted. */
  fact(fact: PodFact): void {
    switch (fact.type) {
      case 'slot.freed':
        return this.#stepFinished(fact.stepId, fact.outcome, fact.error);
      case 'pod.registered':
        return this.event('info', fact.type, { pod_id: fact.podId, incarnation: fact.incarnation }, 'pod registered');
      case 'pod.register_failed':
        return this.event('warn', fact.type, { incarnation: fact.incarnation, error: fact.error }, 'pod registration failed; retrying');
      case 'pod.fenced':
        return this.event(
          'error',
          fact.type,
          { pod_id: fact.podId, in_flight: fact.inFlight },
          'liveness lost: stopped claiming, aborting in-flight steps, re-registering',
        );
      case 'pod.mark_down_failed':
        return this.event(
          'warn',
          fact.type,
          { pod_id: fact.podId, error: fact.error },
          'could not mark the pod down; the sweep will once its heartbeat ages out',
        );
      case 'pod.stopped':
        return this.event('info', fact.type, { pod_id: fact.podId }, 'pod stopped');
      case 'heartbeat.confirmed':
        return this.event('debug', fact.type, { pod_id: fact.podId }, 'heartbeat confirmed');
      case 'heartbeat.missed':
        return this.event('warn', fact.type, { pod_id: fact.podId, error: fact.error }, 'heartbeat failed');
      case 'heartbeat.lost':
        return this.event('error', fact.type, { pod_id: fact.podId, reason: fact.reason }, 'heartbeat lost');
      case 'leader.elected':
        return this.event('info', fact.type, { pod_id: fact.podId }, 'this pod is the leader');
      case 'leader.lost':
        return this.event('info', fact.type, { pod_id: fact.podId, leader_id: fact.leaderId }, 'this pod is no longer the leader');
      case 'leader.check_failed':
        return this.event('warn', fact.type, { pod_id: fact.podId, error: fact.error }, 'leader check failed');
      case 'recovery.completed': {
        const r = fact.report;
        const changed = r.deadPods.length + r.orphanedSteps.length > 0;
        const fields = {
          request_id: fact.requestId,
          dry_run: r.dryRun,
          dead_pods: r.deadPods,
          requeued_steps: r.requeued,
          terminal_steps: r.deadLettered,
          duration_ms: r.durationMs,
        };
        return this.event(changed ? 'info' : 'debug', fact.type, fields, 'recovery sweep completed');
      }
      case 'recovery.failed':
        return this.event('warn', fact.type, { request_id: fact.requestId, error: fact.error }, 'recovery sweep failed');
      case 'recovery.refused':
        return this.event('info', fact.type, { request_id: fact.requestId, reason: fact.reason }, 'recovery run refused');
      case 'prune.completed': {
        const r = fact.report;
        return this.event(
          r.steps + r.events + r.pods > 0 ? 'info' : 'debug',
          fact.type,
          { steps: r.steps, events: r.events, pods: r.pods },
          'old history pruned',
        );
      }
      case 'prune.failed':
        return this.event('warn', fact.type, { error: fact.error }, 'pruning failed');
      case 'claim.completed':
        return this.event('debug', fact.type, { pod_id: fact.podId, limit: fact.limit, claimed: fact.stepIds.length }, 'claim completed');
      case 'claim.failed':
        return this.event('warn', fact.type, { pod_id: fact.podId, error: fact.error }, 'claim failed; retrying on the next wake-up');
      case 'drain.started':
        return this.event('info', fact.type, { pod_id: fact.podId, in_flight: fact.inFlight }, 'draining: claiming stopped');
      case 'drain.grace_expired':
        return this.event('warn', fact.type, { pod_id: fact.podId, in_flight: fact.inFlight }, 'drain grace expired: aborting and releasing unfinished steps');
    }
  }

  /** Steps a claim committed: counted exactly; one `step.claimed` line each at debug. */
  stepsClaimed(podId: string, steps: readonly ClaimedStep[]): void {
    if (steps.length === 0) return;
    const claimedAt = performance.now();
    for (const step of steps) {
      const run: Running = { attempt: step.attempt, type: step.type, podId, claimedAt, later: undefined };
      let last = this.#running.get(step.stepId);
      if (last === undefined) {
        this.#running.set(step.stepId, run);
        continue;
      }
      while (last.later !== undefined) last = last.later;
      last.later = run;
    }
    this.metrics.stepsClaimed.inc(steps.length);
    this.metrics.events.inc({ event: STEP_EVENTS.claimed }, steps.length);
    // Per-step lines are debug: at info they cost more CPU than the rest of a no-op step's path.
    if (!this.logger.isLevelEnabled('debug')) return;
    for (const step of steps) {
      this.logger.debug({ event: STEP_EVENTS.claimed, step_id: step.stepId, attempt: step.attempt, step_type: step.type, pod_id: podId }, 'step claimed');
    }
  }

  /** A failed store call of the runtime; the fact that follows says what the pod does about it. */
  storeError(operation: string, err: unknown): void {
    const errorClass = err instanceof StoreError ? err.errorClass : (errorCode(err) ?? 'unclassified');
    this.metrics.storeErrors.inc({ operation, error_class: errorClass });
    const driverCode = err instanceof StoreError ? err.driverCode : undefined;
    this.logger.debug({ operation, error_class: errorClass, driver_code: driverCode, error: describeError(err) }, 'store call failed');
  }

  /** Logs `event` at `level` and counts it. */
  event(level: Level, event: EventName, fields: Record<string, unknown>, message: string): void {
    this.metrics.events.inc({ event });
    this.logger[level]({ event, ...fields }, message);
  }

  #stepFinished(stepId: string, outcome: Parameters<typeof stepOutcomeEvent>[0], crash: string | undefined): void {
    const run = this.#running.get(stepId);
    if (run?.later !== undefined) this.#running.set(stepId, run.later);
    else if (run !== undefined) this.#running.delete(stepId);
    const durationMs = run === undefined ? undefined : performance.now() - run.claimedAt;
    this.metrics.stepOutcomes.inc({ outcome });
    if (durationMs !== undefined) this.metrics.stepDuration.observe({ outcome }, durationMs / 1000);
    const event = stepOutcomeEvent(outcome);
    this.metrics.events.inc({ event });
    // Completed, retried and released steps are routine: debug. Dead letters and stale ends warn.
    const level: Level = crash !== undefined ? 'error' : outcome === 'dead_lettered' || outcome === 'stale' ? 'warn' : 'debug';
    if (!this.logger.isLevelEnabled(level)) return;
    const fields = {
      event,
      step_id: stepId,
      attempt: run?.attempt,
      step_type: run?.type,
      pod_id: run?.podId ?? this.currentPodId(),
      duration_ms: durationMs === undefined ? undefined : Math.round(durationMs),
      ...(crash === undefined ? {} : { error: crash }),
    };
    this.logger[level](fields, crash === undefined ? `step ${outcome.replace('_', ' ')}` : 'step actor crashed');
  }
}
