/**
 * One enqueue round of the leader's schedules: submits every due tick (ticks.ts) with its
 * deterministic idempotency key, one batch per schedule, and says when the next tick falls. Stateless
 * by design: which ticks exist is decided by the store's per-type key uniqueness, so two pods that
 * both think they lead, a leader change mid-round, or a restart submit the same keys and the store
 * lets each tick through once (the rest answer `duplicate` and write nothing). `TickMemory` only saves
 * this process from re-submitting ticks it already saw committed; losing it costs duplicates, never
 * a double step.
 *
 * Owns the round; it must not decide when rounds run (the leader machine does) nor read a clock (the
 * caller hands in the database's time).
 */
import { ConflictError } from '../errors.js';
import type { Store, StepSubmitParams } from '../store/store.js';
import type { Schedule } from './definition.js';
import { dueTicks, nextTick, tickKey } from './ticks.js';

/** Per schedule name, the newest tick this process saw committed (it and every older due tick are done). */
export type TickMemory = Map<string, number>;

/** One tick submitted this round. `conflict`: the key exists with other args (the schedule changed since). */
export interface TickSubmit {
  readonly schedule: string;
  readonly tick: number;
  readonly stepId: string | null;
  readonly outcome: 'submitted' | 'duplicate' | 'conflict';
}

export interface EnqueueRound {
  readonly submits: readonly TickSubmit[];
  /** The earliest next tick of any schedule (strictly after `now`), or null when none fires again. */
  readonly nextTickAt: number | null;
}

export interface EnqueueParams {
  readonly store: Store;
  readonly schedules: readonly Schedule[];
  /** The database's time now (estimated from the last leader check, or a test's simulated clock). */
  readonly now: number;
  readonly memory?: TickMemory;
  /** Test-only: also hand `now` to the store, whose clock then stamps the rows (conformance cases). */
  readonly storeClock?: boolean;
}

/** Submits every due tick of `schedules` not yet in `memory`; see the file header. */
export async function enqueueDueTicks(params: EnqueueParams): Promise<EnqueueRound> {
  const { store, schedules, now } = params;
  const memory = params.memory ?? new Map<string, number>();
  const submits: TickSubmit[] = [];
  let nextTickAt: number | null = null;
  for (const schedule of schedules) {
    const next = nextTick(schedule, now);
    if (next !== null && (nextTickAt === null || next < nextTickAt)) nextTickAt = next;
    const known = memory.get(schedule.name) ?? -Infinity;
    const ticks = dueTicks(schedule, now).filter((t) => t > known);
    if (ticks.length === 0) continue;
    const items = ticks.map((tick) => stepOf(schedule, tick));
    const at = params.storeClock === true ? { now } : {};
    try {
      const { results } = await store.stepSubmitBatch({ steps: items, ...at });
      results.forEach((r, i) => submits.push({ schedule: schedule.name, tick: ticks[i]!, stepId: r.stepId, outcome: r.outcome }));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      // The batch is all or none: one tick enqueued with older args refuses it whole, so go one by one.
      for (const [i, item] of items.entries()) {
        try {
          const r = await store.stepSubmit({ ...item, ...at });
          submits.push({ schedule: schedule.name, tick: ticks[i]!, stepId: r.stepId, outcome: r.outcome });
        } catch (itemErr) {
          if (!(itemErr instanceof ConflictError)) throw itemErr;
          submits.push({ schedule: schedule.name, tick: ticks[i]!, stepId: null, outcome: 'conflict' });
        }
      }
    }
    memory.set(schedule.name, ticks[ticks.length - 1]!);
  }
  return { submits, nextTickAt };
}

/** The submit of one tick: the schedule's step, its key, and the tick in `metadata` for the handler and operators. */
function stepOf(schedule: Schedule, tick: number): Omit<StepSubmitParams, 'now'> {
  return {
    ...schedule.submission,
    metadata: { ...schedule.submission.metadata, schedule: schedule.name, tick: new Date(tick).toISOString() },
    idempotencyKey: tickKey(schedule.name, tick),
  };
}
