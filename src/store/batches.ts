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
