/**
 * Readings of the audit trail that flow-control tests check limits against: how many steps of a set
 * were claimed at once, and how many claims of the set started in one window. Owns the arithmetic
 * only; asserts nothing.
 */
import type { StepEvent } from '../../src/store/store.js';

/** The largest number of the steps claimed at once, replaying the trail in event_id order (commit order for claims of one limited type). */
export function maxConcurrent(events: readonly StepEvent[], limitedIds: ReadonlySet<string>): number {
  const held = new Set<string>();
  let max = 0;
  for (const e of events) {
    if (!limitedIds.has(e.stepId)) continue;
    if (e.kind === 'claimed') held.add(e.stepId);
    else if (['completed', 'retried', 'released', 'dead_lettered', 'recovered'].includes(e.kind)) held.delete(e.stepId);
    max = Math.max(max, held.size);
  }
  return max;
}

/** The largest number of limited claims whose start times lie in one window `(t − intervalMs, t]`. */
export function maxStartsInWindow(events: readonly StepEvent[], limitedIds: ReadonlySet<string>, intervalMs: number): number {
  const starts = events
    .filter((e) => e.kind === 'claimed' && limitedIds.has(e.stepId))
    .map((e) => e.ts)
    .sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[j]! <= starts[i]! - intervalMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}
