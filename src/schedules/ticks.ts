/**
 * Tick arithmetic of one schedule, pure: which ticks are due at a given time, the next tick after it,
 * and the idempotency key of a tick. The time is always handed in (the database's, by the caller);
 * this file reads no clock and touches no store.
 *
 * Ticks fall on whole seconds (croner's resolution), so "due at `now`" means `tick <= now`.
 */
import type { Schedule } from './definition.js';

const SECOND_MS = 1_000;

/**
 * The due ticks an enqueue round covers at `now`, oldest first: the latest due tick for `skip`, the
 * `backfill` most recent for `backfill: N`. Ticks older than these are missed by the policy.
 */
export function dueTicks(schedule: Schedule, now: number): number[] {
  // croner's previousRuns are strictly before a reference it truncates to the second; one second past
  // the truncated `now` therefore yields every tick <= now.
  const reference = new Date(Math.floor(now / SECOND_MS) * SECOND_MS + SECOND_MS);
  return schedule.pattern
    .previousRuns(schedule.window, reference)
    .map((d) => d.getTime())
    .reverse();
}

/** The first tick strictly after `now`, or null when the expression never fires again. */
export function nextTick(schedule: Schedule, now: number): number | null {
  return schedule.pattern.nextRun(new Date(now))?.getTime() ?? null;
}

/** The `count` most recent ticks at or before `now`, newest first (for reports of what was enqueued). */
export function recentTicks(schedule: Schedule, now: number, count: number): number[] {
  const reference = new Date(Math.floor(now / SECOND_MS) * SECOND_MS + SECOND_MS);
  return schedule.pattern.previousRuns(count, reference).map((d) => d.getTime());
}

/**
 * The idempotency key of one tick: deterministic per (schedule, tick), so every pod that enqueues
 * the tick, leader or not, before or after a restart, names the same step and the store's per-type
 * key uniqueness lets exactly one through.
 */
export function tickKey(scheduleName: string, tick: number): string {
  return `schedule:${scheduleName}:${new Date(tick).toISOString()}`;
}
