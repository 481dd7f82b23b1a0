/**
 * What `GET /admin/schedules` reports of each schedule: its next tick and the most recent tick found
 * enqueued, with that step's id and status. Stateless like the enqueue round: the last enqueued tick
 * is looked up by key among the schedule's most recent ticks (`window + 1` of them, at most 10), so a
 * tick older than that (a `skip` schedule after a long outage, or one pruned by retention) reads as
 * none. Owns those reads (through the Store only); the wire format is views.ts's.
 */
import type { StepStatus, Store } from '../store/store.js';
import type { Schedule } from './definition.js';
import { nextTick, recentTicks, tickKey } from './ticks.js';

/** Most ticks looked up per schedule (one read each). */
const MAX_LOOKBACK = 10;

export interface ScheduleReport {
  readonly schedule: Schedule;
  readonly nextTick: number | null;
  readonly lastEnqueued: { readonly tick: number; readonly stepId: string; readonly status: StepStatus } | null;
}

/** Each schedule's report at `now` (the database's time). */
export async function reportSchedules(store: Store, schedules: readonly Schedule[], now: number): Promise<ScheduleReport[]> {
  return Promise.all(
    schedules.map(async (schedule) => {
      for (const tick of recentTicks(schedule, now, Math.min(schedule.window + 1, MAX_LOOKBACK))) {
        const [step] = await store.stepList({ type: schedule.type, idempotencyKey: tickKey(schedule.name, tick), limit: 1, offset: 0 });
        if (step !== undefined) return { schedule, nextTick: nextTick(schedule, now), lastEnqueued: { tick, stepId: step.stepId, status: step.status } };
      }
      return { schedule, nextTick: nextTick(schedule, now), lastEnqueued: null };
    }),
  );
}
