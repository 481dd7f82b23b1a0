/**
 * Watches how long this pod's heartbeats take: each confirmed beat's round trip (the statement, its
 * queueing, and the event-loop delay before its answer is handled) goes into
 * `fleet_q_heartbeat_latency_seconds`, and a beat that uses more than half of the latency margin the
 * liveness rule leaves (`fence window − interval`, config/liveness.ts) is logged at `warn` as
 * `heartbeat.slow`, naming the settings to change, at most once a minute. It only observes: it must
 * not change timers or fence the pod.
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { HEARTBEAT_EVENTS } from '../../machines/index.js';
import { fenceWindowMs, latencyMarginMs, livenessTimingOf, type LivenessSettings } from '../config/liveness.js';
import type { PodTelemetry } from './telemetry.js';

/** One warning a minute at most: a slow database would otherwise log every beat. */
const WARN_EVERY_MS = 60_000;

/** The sink of heartbeat latencies of one pod. */
export class HeartbeatLatencyWatch {
  readonly #windowMs: number;
  readonly #marginMs: number;
  #lastWarnAt = Number.NEGATIVE_INFINITY;
  #slowSinceWarn = 0;

  constructor(
    private readonly telemetry: Pick<PodTelemetry, 'event'>,
    private readonly histogram: Pick<Histogram, 'observe'>,
    private readonly settings: LivenessSettings,
    private readonly now: () => number = () => performance.now(),
  ) {
    const timing = livenessTimingOf(settings);
    this.#windowMs = fenceWindowMs(timing);
    this.#marginMs = latencyMarginMs(timing);
  }

  /** Half the margin: a beat slower than this leaves less than half of the room before a false fence. */
  get warnAboveMs(): number {
    return this.#marginMs / 2;
  }

  /** Records one confirmed beat that took `latencyMs`. */
  observe(podId: string, latencyMs: number): void {
    this.histogram.observe(latencyMs / 1000);
    if (latencyMs <= this.warnAboveMs) return;
    this.#slowSinceWarn++;
    const at = this.now();
    if (at - this.#lastWarnAt < WARN_EVERY_MS) return;
    this.#lastWarnAt = at;
    const s = this.settings;
    const overBudget = latencyMs > s.heartbeatLatencyBudgetSeconds * 1000;
    this.telemetry.event(
      'warn',
      HEARTBEAT_EVENTS.slow,
      {
        pod_id: podId,
        latency_ms: Math.round(latencyMs),
        margin_ms: this.#marginMs,
        fence_window_ms: this.#windowMs,
        slow_beats: this.#slowSinceWarn,
        FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: s.heartbeatIntervalSeconds,
        FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: s.deadPodThresholdSeconds,
        FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: s.heartbeatLatencyBudgetSeconds,
      },
      `heartbeat took ${Math.round(latencyMs)} ms, more than half of the ${this.#marginMs} ms a beat may take before this pod fences itself` +
        `${overBudget ? `, and more than FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS (${s.heartbeatLatencyBudgetSeconds})` : ''}: ` +
        `raise FLEET_Q_DEAD_POD_THRESHOLD_SECONDS (${s.deadPodThresholdSeconds}) or lower FLEET_Q_HEARTBEAT_INTERVAL_SECONDS ` +
        `(${s.heartbeatIntervalSeconds}), keeping the threshold ≥ interval + 2 × a budget at least this latency`,
    );
    this.#slowSinceWarn = 0;
  }
}
