/**
 * Readings of the audit trail that flow-control tests check limits against: how many steps of a set
 * were claimed at once, and how many claims of the set started in one window. Owns the arithmetic
 * only; asserts nothing.
 */
import type { StepEvent } from '../../src/store/store.js';

/** Event kinds that end a claim. */
const RELEASES: readonly string[] = ['completed', 'retried', 'released', 'dead_lettered', 'recovered'];

/** The largest number of the steps claimed at once, replaying the trail in event_id order (commit order for claims of one limited type). */
export function maxConcurrent(events: readonly StepEvent[], limitedIds: ReadonlySet<string>): number {
  const held = new Set<string>();
  let max = 0;
  for (const e of events) {
    if (!limitedIds.has(e.stepId)) continue;
    if (e.kind === 'claimed') held.add(e.stepId);
    else if (RELEASES.includes(e.kind)) held.delete(e.stepId);
    max = Math.max(max, held.size);
  }
  return max;
}

/**
 * `maxConcurrent` replaying the trail in time order (a release before a claim of the same instant),
 * for stores whose event ids are not commit order: the Snowflake store copies a completion's event
 * with its next write, so its id may come after a later claim's, while its `ts` is the completion's.
 * `claimedAt`: the moment a claim is replayed at, by default its `ts`. A store whose claim is stamped
 * before the claim read its counts (the emulator stamps a gated claim with its transaction's start,
 * and under load seconds may pass before the transaction's first read) needs a later moment that
 * is still no earlier than that read, such as when the claimed attempt's handler started. A claim is
 * never replayed after the event that ended it (a pod that fenced itself before starting the
 * handler, its claim recovered soon after): just before it, so it still counts while it was held.
 */
export function maxConcurrentByTime(
  events: readonly StepEvent[],
  limitedIds: ReadonlySet<string>,
  claimedAt: (claim: StepEvent) => number = (claim) => claim.ts,
): number {
  const attemptOf = (e: StepEvent) => `${e.stepId}:${e.attempt}`;
  const endedAt = new Map<string, number>();
  for (const e of events) {
    if (RELEASES.includes(e.kind)) endedAt.set(attemptOf(e), Math.min(endedAt.get(attemptOf(e)) ?? Infinity, e.ts));
  }
  // Event times are whole milliseconds: half of one puts the claim after every earlier event and before its end.
  const at = (e: StepEvent) => (e.kind === 'claimed' ? Math.min(claimedAt(e), (endedAt.get(attemptOf(e)) ?? Infinity) - 0.5) : e.ts);
  const releaseFirst = (e: StepEvent) => (e.kind === 'claimed' ? 1 : 0);
  return maxConcurrent(
    [...events].sort((a, b) => at(a) - at(b) || releaseFirst(a) - releaseFirst(b) || a.eventId - b.eventId),
    limitedIds,
  );
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
