/**
 * Waiting and summarising helpers shared by the benchmark phases: poll until a queue has done its
 * work (failing loudly when it stalls instead of hanging), sleep, and percentiles. Owns no database
 * access of its own.
 */
import type { BenchQueue } from './database.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once `queue` has `steps` completed steps. Polls every 200 ms (the figures come from the
 * audit trail, not from this poll). Throws when nothing completes for `stallMs`, naming the counts.
 */
export async function waitForCompletion(queue: BenchQueue, steps: number, stallMs = 30_000, alive?: () => string | null): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const counts = await queue.counts();
    if (counts.completed + counts.failed >= steps) {
      if (counts.failed > 0) throw new Error(`${counts.failed} of ${steps} no-op steps failed in ${queue.name}`);
      return;
    }
    if (counts.completed !== last) {
      last = counts.completed;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > stallMs) {
      throw new Error(`${queue.name} stalled for ${stallMs / 1000} s: ${JSON.stringify(counts)}`);
    }
    const dead = alive?.() ?? null;
    if (dead !== null) throw new Error(`${queue.name}: ${dead}`);
    await sleep(200);
  }
}

/** The `p`-th percentile (0–100) of `values` by the nearest-rank method. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}
