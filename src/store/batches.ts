/**
 * Retention's batch loop, shared by the drivers: run one bounded batch (its own transaction) after
 * another until a batch finds fewer than its size, resting between batches. Owns the pacing only;
 * what a batch deletes is the driver's. Must not open transactions or hold SQL.
 *
 * The rest lasts as long as the batch took (2–50 ms), so pruning takes at most about half of the
 * database's write time. On SQLite a writer in another process polls for the lock from its busy
 * handler and async retry; a turn of the event loop alone was too short for it to get in: with
 * 1,000-step batches back to back, a claim beside a 1,000,000-step prune waited up to 362 ms
 * (`npm run bench -- --scale`, SQLite, p99 59 ms).
 *
 * A fixed size bounds rows, not time: on a loaded host the same 500-step SQLite batch took 20 ms or
 * 140 ms, and a batch whose commit ran a WAL checkpoint took the longest. `pruneInTimedBatches`
 * bounds time instead: each batch's size follows the previous one's duration toward a target.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetentionPruneResult } from './store.js';

const MIN_REST_MS = 2;
const MAX_REST_MS = 50;

/** Runs `batch` until it prunes fewer than `size` steps; returns the totals. */
export async function pruneInBatches(size: number, batch: () => Promise<RetentionPruneResult>): Promise<RetentionPruneResult> {
  const total = { steps: 0, events: 0, pods: 0 };
  for (;;) {
    const started = performance.now();
    const done = await batch();
    total.steps += done.steps;
    total.events += done.events;
    total.pods += done.pods;
    if (done.steps < size) return total;
    await sleep(Math.min(MAX_REST_MS, Math.max(MIN_REST_MS, performance.now() - started)));
  }
}

/** How `pruneInTimedBatches` sizes its batches. */
export interface TimedBatches {
  /** Size of the first batch. */
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  /** The duration a batch aims at, ms. */
  readonly targetMs: number;
}

/**
 * Like `pruneInBatches`, but each batch's size is the previous size scaled by target ÷ duration
 * (at most halved or doubled per batch, within [min, max]), so a slow batch is followed by a smaller
 * one and batches settle near `targetMs` whatever the host's speed.
 */
export async function pruneInTimedBatches(sizing: TimedBatches, batch: (size: number) => Promise<RetentionPruneResult>): Promise<RetentionPruneResult> {
  const total = { steps: 0, events: 0, pods: 0 };
  let size = sizing.initial;
  for (;;) {
    const started = performance.now();
    const done = await batch(size);
    const took = performance.now() - started;
    total.steps += done.steps;
    total.events += done.events;
    total.pods += done.pods;
    if (done.steps < size) return total;
    size = nextBatchSize(sizing, size, took);
    await sleep(Math.min(MAX_REST_MS, Math.max(MIN_REST_MS, took)));
  }
}

/** The size after a batch of `size` took `tookMs`. */
export function nextBatchSize(sizing: TimedBatches, size: number, tookMs: number): number {
  const scale = Math.min(2, Math.max(0.5, sizing.targetMs / Math.max(tookMs, 0.1)));
  return Math.min(sizing.max, Math.max(sizing.min, Math.round(size * scale)));
}
