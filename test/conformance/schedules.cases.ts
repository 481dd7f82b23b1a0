/**
 * Conformance: recurring schedules on a simulated clock. The leader's enqueue round (src/schedules/
 * enqueue.ts) decides nothing the store does not: each tick's deterministic idempotency key and the
 * store's per-type key uniqueness must make every tick exist exactly once, whatever two "leaders"
 * (two connections, each with its own memory) do at once, and after an outage the missed ticks must
 * follow the schedule's policy exactly. Must not depend on a driver's SQL or tables.
 *
 * On the Snowflake emulator the two leaders' rounds take turns instead of racing: the driver's key
 * uniqueness rests on Snowflake's table lock serializing the promoting UPDATEs, which the emulator
 * (DuckDB, optimistic concurrency) cannot reproduce; racing there doubled a tick about one run in four.
 */
import { describe, expect, it } from 'vitest';
import { compileSchedules, type Schedule, type ScheduleDefinition } from '../../src/schedules/definition.js';
import { enqueueDueTicks, type TickMemory } from '../../src/schedules/enqueue.js';
import { tickKey } from '../../src/schedules/ticks.js';
import { withBuiltinSteps } from '../../src/steps/load.js';
import { StepRegistry } from '../../src/steps/registry.js';
import type { Store } from '../../src/store/store.js';
import { T0, TYPE, allEvents, freshStores } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const SECOND = 1_000;
const registry = new StepRegistry(withBuiltinSteps([]));

function scheduleOf(missed: ScheduleDefinition['missed']): Schedule {
  const [schedule] = compileSchedules([{ name: 'every-second', type: TYPE, cron: '* * * * * *', args: { ping: true }, missed }], registry, {
    defaultMaxRetries: 3,
    defaultStepTimeoutMs: 900_000,
  });
  return schedule!;
}

/** Runs two leaders' rounds at once, or one after the other where the store cannot race them faithfully. */
function both<A, B>(factory: StoreFactory, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (factory.name !== 'snowflake') return Promise.all([a(), b()]);
  return a().then(async (x) => [x, await b()]);
}

/** One enqueue round of `schedule` by one "leader" at simulated time `now`. */
function round(store: Store, schedule: Schedule, now: number, memory: TickMemory) {
  return enqueueDueTicks({ store, schedules: [schedule], now, memory, storeClock: true });
}

/** Seconds after T0 of every tick enqueued, sorted, with how many steps each has. */
async function enqueuedTicks(store: Store, schedule: Schedule): Promise<Map<number, number>> {
  const steps = await store.stepList({ type: TYPE, limit: 1_000, offset: 0 });
  const counts = new Map<number, number>();
  for (const step of steps) {
    const tick = Number(step.metadata['tick'] === undefined ? NaN : Date.parse(String(step.metadata['tick'])));
    expect(step.idempotencyKey).toBe(tickKey(schedule.name, tick));
    const second = (tick - T0) / SECOND;
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  return new Map([...counts.entries()].sort((a, b) => a[0] - b[0]));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Registers the schedule cases for `factory`. */
export function describeSchedules(factory: StoreFactory): void {
  describe('recurring schedules (simulated clock)', () => {
    const open = freshStores(factory);

    it('two leaders enqueueing at once, on two connections, make exactly one step per tick, none skipped', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      const schedule = scheduleOf('skip');
      const memoryA: TickMemory = new Map();
      const memoryB: TickMemory = new Map();
      // Both run a round every 0.5 s; B's clock runs 0.2 s behind (it saw the database time earlier).
      for (let t = 0; t <= 8 * SECOND; t += SECOND / 2) {
        await both(
          factory,
          () => round(store, schedule, T0 + t, memoryA),
          () => round(peer, schedule, T0 + t - 200, memoryB),
        );
      }
      const ticks = await enqueuedTicks(store, schedule);
      expect([...ticks.keys()]).toEqual(range(-1, 8));
      expect([...ticks.values()].every((n) => n === 1)).toBe(true);
      const submitted = (await allEvents(store)).filter((e) => e.kind === 'submitted');
      expect(submitted).toHaveLength(ticks.size);
    });

    it('a restarted leader (no memory) re-running a round writes nothing, and its rounds answer the existing steps', async () => {
      const { store } = await open();
      const schedule = scheduleOf({ backfill: 3 });
      const first = await round(store, schedule, T0 + 2_500, new Map());
      expect(first.submits.map((s) => [s.tick - T0, s.outcome])).toEqual([
        [0, 'submitted'],
        [SECOND, 'submitted'],
        [2 * SECOND, 'submitted'],
      ]);
      expect(first.nextTickAt).toBe(T0 + 3 * SECOND);
      const again = await round(store, schedule, T0 + 2_900, new Map());
      expect(again.submits.map((s) => s.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
      expect(again.submits.map((s) => s.stepId)).toEqual(first.submits.map((s) => s.stepId));
      expect((await allEvents(store)).filter((e) => e.kind === 'submitted')).toHaveLength(3);
    });

    it('after an outage, `backfill: 3` enqueues exactly the 3 most recent missed ticks, once, whichever pod leads next', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      const schedule = scheduleOf({ backfill: 3 });
      const before: TickMemory = new Map();
      for (let t = 0; t <= 4 * SECOND; t += SECOND) await round(store, schedule, T0 + t + 100, before);
      // Outage: nobody enqueues from 4.1 s to 12.4 s; then the peer leads, the old leader also wakes up.
      const after: TickMemory = new Map();
      await both(
        factory,
        () => round(peer, schedule, T0 + 12_400, after),
        () => round(store, schedule, T0 + 12_450, before),
      );
      for (let t = 13 * SECOND; t <= 15 * SECOND; t += SECOND) await round(peer, schedule, T0 + t + 100, after);
      const ticks = await enqueuedTicks(store, schedule);
      // The first round at 0.1 s backfills -2 and -1; ticks 5..9 are missed beyond the policy's 3.
      expect([...ticks.keys()]).toEqual([...range(-2, 4), ...range(10, 15)]);
      expect([...ticks.values()].every((n) => n === 1)).toBe(true);
    });

    it('a backfill window longer than the outage leaves no gap at all', async () => {
      const { store } = await open();
      const schedule = scheduleOf({ backfill: 10 });
      const memory: TickMemory = new Map();
      await round(store, schedule, T0 + 100, memory);
      await round(store, schedule, T0 + 6_300, new Map()); // a new leader 6 s later, without memory
      const ticks = await enqueuedTicks(store, schedule);
      expect([...ticks.keys()]).toEqual(range(-9, 6));
      expect([...ticks.values()].every((n) => n === 1)).toBe(true);
    });

    it('after an outage, `skip` enqueues only the latest due tick', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      const schedule = scheduleOf('skip');
      const memory: TickMemory = new Map();
      for (let t = 0; t <= 3 * SECOND; t += SECOND) await round(store, schedule, T0 + t + 100, memory);
      const resumed = await both(
        factory,
        () => round(peer, schedule, T0 + 9_700, new Map()),
        () => round(store, schedule, T0 + 9_800, memory),
      );
      expect(resumed.flatMap((r) => r.submits.map((s) => s.tick - T0))).toEqual([9 * SECOND, 9 * SECOND]);
      const ticks = await enqueuedTicks(store, schedule);
      expect([...ticks.keys()]).toEqual([...range(0, 3), 9]);
      expect([...ticks.values()].every((n) => n === 1)).toBe(true);
    });
  });
}
