/**
 * The async busy-retry loop around every SQLite transaction. better-sqlite3 is synchronous, so a
 * long busy_timeout would freeze the event loop (heartbeats, HTTP) while another process writes;
 * instead each attempt waits at most the short busy_timeout inside SQLite, and between attempts we
 * yield to the event loop for a jittered, growing delay until a deadline. Owns timing only: the
 * operation and the classification are passed in.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, type FleetError } from '../../errors.js';

/** How long to keep retrying a busy file, and how long to wait between attempts. */
export interface BusyRetryPolicy {
  /** Give up (throwing the retryable `StoreError`) once this much time has passed. */
  readonly deadlineMs: number;
  /** First wait between attempts; doubles per attempt up to `maxDelayMs`, each × U[0.5, 1]. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

/** 5 s covers a checkpoint or a 10,000-step batch by another process; 2→64 ms keeps wake-ups few. */
export const DEFAULT_BUSY_RETRY: BusyRetryPolicy = { deadlineMs: 5_000, minDelayMs: 2, maxDelayMs: 64 };

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, or the deadline passes.
 * `onRetry` (tests, metrics) learns of each retried attempt.
 */
export async function withBusyRetry<T>(
  operation: () => T,
  classify: (err: unknown) => FleetError,
  policy: BusyRetryPolicy = DEFAULT_BUSY_RETRY,
  onRetry?: (attempt: number, error: StoreError) => void,
): Promise<T> {
  const deadline = Date.now() + policy.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return operation();
    } catch (thrown) {
      const error = classify(thrown);
      if (!(error instanceof StoreError) || error.errorClass !== 'retryable') throw error;
      const wait = backoffMs(attempt, policy);
      if (Date.now() + wait > deadline) throw error;
      onRetry?.(attempt, error);
      await sleep(wait);
    }
  }
}

function backoffMs(attempt: number, policy: BusyRetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.max(1, Math.round(ceiling * (0.5 + 0.5 * Math.random())));
}
