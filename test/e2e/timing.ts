/**
 * The fast timings every end-to-end pod runs with, in one place: the variables handed to the pods and
 * the same numbers in milliseconds for the bounds the scenarios assert. Owns the numbers only.
 *
 * Heartbeat 0.2 s against a 1.5 s dead-pod threshold, with a 0.65 s heartbeat latency budget (the
 * most that pair accepts: threshold ≥ interval + 2 × budget), leaves a 0.85 s self-fencing window (the
 * midpoint of interval and threshold): a beat may take 0.65 s, ample on a loaded 2-core machine, and
 * recovery scenarios finish in seconds.
 */

/** Milliseconds. */
export const TIMING = {
  heartbeatIntervalMs: 200,
  deadPodThresholdMs: 1_500,
  leaderCheckIntervalMs: 500,
  recoveryIntervalMs: 500,
  claimIntervalMs: 500,
  baseDelayMs: 50,
  maxDelayMs: 500,
} as const;

/** The `FLEET_Q_*` variables for `TIMING`, plus a quiet log level (warnings still reach stderr). */
export const TIMING_ENV: Readonly<Record<string, string>> = {
  FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: String(TIMING.heartbeatIntervalMs / 1000),
  FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: String(TIMING.deadPodThresholdMs / 1000),
  FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '0.65',
  FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS: String(TIMING.leaderCheckIntervalMs / 1000),
  FLEET_Q_RECOVERY_INTERVAL_SECONDS: String(TIMING.recoveryIntervalMs / 1000),
  FLEET_Q_CLAIM_INTERVAL_SECONDS: String(TIMING.claimIntervalMs / 1000),
  FLEET_Q_BASE_DELAY_MS: String(TIMING.baseDelayMs),
  FLEET_Q_MAX_DELAY_MS: String(TIMING.maxDelayMs),
  FLEET_Q_LOG_LEVEL: 'warn',
};

/**
 * How long after a SIGKILL every step the dead pod held must be completed elsewhere: it is declared
 * dead after the threshold, a leader notices within a leader check, sweeps within a recovery
 * interval, the backoff is at most the max delay, and 2 s cover the claim and the step itself.
 */
export const RECOVERY_BOUND_MS = TIMING.deadPodThresholdMs + TIMING.leaderCheckIntervalMs + TIMING.recoveryIntervalMs + TIMING.maxDelayMs + 2_000;
