/**
 * The liveness rule: the one place that derives the self-fencing window from the heartbeat interval
 * `I`, the dead-pod threshold `T` and the heartbeat latency budget `L`, and decides which
 * (I, T, L) FLEET-Q accepts. The machines get the window as input, `/health` and the config schema
 * call these functions; nothing else may compute a window. Pure arithmetic in whole milliseconds:
 * no clock, no I/O.
 *
 * `L` bounds the time from a heartbeat falling due to its confirmation being handled (the statement's
 * round trip, queueing on the connection, and event-loop delays), and from a beat's commit to the
 * pod's fence timer being handled. The fence timer is re-armed at each confirmation. Self-fencing
 * must meet two conditions:
 *
 * 1. A healthy pod never fences itself: the next beat is due `I` after a confirmation and confirmed
 *    within `L` more, so the window `W` must exceed `I + ℓ` for every latency `ℓ < L`: `W ≥ I + L`.
 * 2. A pod that cannot prove liveness fences before anyone may declare it dead: its row's
 *    `last_heartbeat_ts` (database time) is at most `L` older than the confirmation that armed the
 *    timer, and the others judge it dead `T` after that timestamp, so `W + L ≤ T`.
 *
 * Both hold for some `W` exactly when `T − I ≥ 2L`; that is what configuration accepts. The window is
 * the midpoint `W = ⌊(I + T) / 2⌋`: it leaves the same margin `(T − I)/2 − L` on both sides, so the
 * budget only decides what is accepted and never changes how a running pod behaves (raising the
 * budget cannot make a pod fence sooner or later). The previous rule, `T − 2I` with `T ≥ 3I`, left a
 * window of exactly `I` at `T = 3I`: every beat's confirmation arrived just after the fence.
 */

/** The three settings the rule is about, in whole milliseconds. */
export interface LivenessTimingMs {
  readonly heartbeatIntervalMs: number;
  readonly deadPodThresholdMs: number;
  readonly latencyBudgetMs: number;
}

/** The settings as configuration holds them (seconds, fractions allowed). */
export interface LivenessSettings {
  readonly heartbeatIntervalSeconds: number;
  readonly deadPodThresholdSeconds: number;
  readonly heartbeatLatencyBudgetSeconds: number;
}

/**
 * Seconds → whole ms, at least 1 (a 0 ms `after` delay would spin). The interval and the threshold
 * go through this one conversion wherever they become timers, store policy or checks.
 */
export function secondsToMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}

/** The rule's inputs for a configuration. */
export function livenessTimingOf(settings: LivenessSettings): LivenessTimingMs {
  return {
    heartbeatIntervalMs: secondsToMs(settings.heartbeatIntervalSeconds),
    deadPodThresholdMs: secondsToMs(settings.deadPodThresholdSeconds),
    latencyBudgetMs: secondsToMs(settings.heartbeatLatencyBudgetSeconds),
  };
}

/**
 * How long after its last confirmed heartbeat (or its registration) a pod keeps trusting itself:
 * the midpoint of interval and threshold (see the file header).
 */
export function fenceWindowMs(timing: Pick<LivenessTimingMs, 'heartbeatIntervalMs' | 'deadPodThresholdMs'>): number {
  return Math.floor((timing.heartbeatIntervalMs + timing.deadPodThresholdMs) / 2);
}

/**
 * What latency a beat may take before a healthy pod would fence itself: `W − I`. Under the budget
 * rule it is at least `L`; the runtime warns when a beat uses more than half of it.
 */
export function latencyMarginMs(timing: Pick<LivenessTimingMs, 'heartbeatIntervalMs' | 'deadPodThresholdMs'>): number {
  return fenceWindowMs(timing) - timing.heartbeatIntervalMs;
}

/** Whether both conditions hold: `T − I ≥ 2L` (in ms). */
export function livenessHolds(timing: LivenessTimingMs): boolean {
  return timing.deadPodThresholdMs - timing.heartbeatIntervalMs >= 2 * timing.latencyBudgetMs;
}

const seconds = (ms: number): string => String(ms / 1000);

/**
 * Why (I, T, L) is refused, with the values that would work, or undefined when it is accepted.
 * Names the variables, since operators read it as a configuration error.
 */
export function livenessProblem(timing: LivenessTimingMs): string | undefined {
  if (livenessHolds(timing)) return undefined;
  const { heartbeatIntervalMs: i, deadPodThresholdMs: t, latencyBudgetMs: l } = timing;
  const minThreshold = i + 2 * l;
  const fixes = [`raise it to ${seconds(minThreshold)} or more`];
  // Only intervals of at least 1 ms exist; a budget must stay positive.
  if (t - 2 * l >= 1) fixes.push(`lower FLEET_Q_HEARTBEAT_INTERVAL_SECONDS to ${seconds(t - 2 * l)} or less`);
  const maxBudget = Math.floor((t - i) / 2);
  if (maxBudget >= 1) fixes.push(`lower FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS to ${seconds(maxBudget)} or less`);
  return (
    `must be at least FLEET_Q_HEARTBEAT_INTERVAL_SECONDS + 2 × FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS ` +
    `(${seconds(i)} + 2 × ${seconds(l)} = ${seconds(minThreshold)}), got ${seconds(t)}, so that a healthy pod never fences itself ` +
    `and a silent pod fences before it is declared dead: ${fixes.join(', or ')}`
  );
}
