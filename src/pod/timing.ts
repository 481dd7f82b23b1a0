/**
 * Configuration → the supervisor machine's input: capacity and every delay the machines wait on, in
 * milliseconds. Owns the unit conversion and the few timings that have no variable of their own
 * (prune cadence, register and report retry pauses); must not start timers (the machines own them).
 */
import type { SupervisorMachineInput } from '../../machines/index.js';
import { capacityOf, type FleetConfig } from '../config/config.js';
import { fenceWindowMs, livenessTimingOf } from '../config/liveness.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Seconds (fractions allowed) → whole ms, at least 1: a 0 ms `after` delay would spin the claim loop. */
function delayMs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * How often the leader prunes: retention is counted in days, so pruning more often than hourly only
 * costs queries; but a retention shorter than a day (tests, demos) is pruned at 1/24 of it, never more
 * often than the recovery sweep runs.
 */
export function pruneIntervalMs(retentionMs: number, recoveryIntervalMs: number): number {
  return Math.max(recoveryIntervalMs, Math.min(HOUR_MS, Math.round(retentionMs / 24)));
}

/**
 * Idle slots a busy pod waits for before it claims again: on Snowflake, where every statement keeps
 * the warehouse awake, the batch share of the capacity; elsewhere 1 (a claim for whatever freed in the turn is cheap).
 */
export function claimMinBatchOf(config: FleetConfig): number {
  if (config.storageMode !== 'snowflake') return 1;
  return Math.max(1, Math.ceil(capacityOf(config) * config.snowflakeClaimBatchShare - 1e-9));
}

/** The supervisor's input for `config`. */
export function supervisorInputOf(config: FleetConfig): SupervisorMachineInput {
  const liveness = livenessTimingOf(config);
  const heartbeatIntervalMs = liveness.heartbeatIntervalMs;
  const recoveryIntervalMs = delayMs(config.recoveryIntervalSeconds);
  const retentionMs = config.retentionDays * DAY_MS;
  return {
    capacity: capacityOf(config),
    heartbeatIntervalMs,
    fenceWindowMs: fenceWindowMs(liveness),
    claimIntervalMs: delayMs(config.claimIntervalSeconds),
    claimMinBatch: claimMinBatchOf(config),
    leaderCheckIntervalMs: delayMs(config.leaderCheckIntervalSeconds),
    recoveryIntervalMs,
    pruneIntervalMs: pruneIntervalMs(retentionMs, recoveryIntervalMs),
    retentionMs,
    shutdownGraceMs: Math.max(0, Math.round(config.shutdownGraceSeconds * 1000)),
    // A fenced pod re-registers "once the database answers": ask as often as it would beat, at most
    // every 5 s, so an outage of the default 30 s heartbeat does not keep a pod idle 30 s longer.
    registerRetryDelayMs: Math.min(heartbeatIntervalMs, 5_000),
    // A report that failed holds a slot and a claim that nothing else will recover while this pod
    // lives, so it is retried at least every second.
    reportRetryDelayMs: Math.min(heartbeatIntervalMs, 1_000),
  };
}
