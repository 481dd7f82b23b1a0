/**
 * Conformance: `queueAge`, the read behind the leader's queue-age gauges: per priority, the pending
 * steps that are due and the oldest `run_after` among them, judged at the given clock. Steps in
 * backoff or delayed, claimed, completed and dead-lettered steps do not count. Must not depend on a
 * driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, T0, freshStores, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the queue-age cases for `factory`. */
export function describeQueueAge(factory: StoreFactory): void {
  describe('queue age', () => {
    const open = freshStores(factory);

    it('reports nothing for an empty queue, with the clock it judged by', async () => {
      const { store } = await open();
      expect(await store.queueAge({ now: T0 + 5 })).toEqual({ checkedAt: T0 + 5, byPriority: [], pastDeadline: 0 });
    });

    it('counts due pending steps per priority, highest first, with the oldest due time; not delayed, claimed or finished ones', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await submit(store, { priority: 0, now: T0 });
      await submit(store, { priority: 0, now: T0 + 100 });
      await submit(store, { priority: 5, now: T0 + 300 });
      await submit(store, { priority: 5, now: T0 + 200, delayMs: 10_000 }); // due only at T0 + 10,200
      await submit(store, { priority: 9, now: T0 + 50 });
      const claimed = await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 1, now: T0 + 400 });
      expect(claimed.map((s) => s.priority)).toEqual([9]); // priority 9 is no longer pending
      const done = await submit(store, { priority: 3, now: T0 + 10 });
      const [row] = await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 1, now: T0 + 450 });
      expect(row?.stepId).not.toBe(done); // priority 5 first; then complete it so it leaves the queue
      await store.stepComplete({ stepId: row!.stepId, podId: POD_A, attempt: 1, result: null, now: T0 + 460 });

      expect(await store.queueAge({ now: T0 + 1_000 })).toEqual({
        checkedAt: T0 + 1_000,
        byPriority: [
          { priority: 3, due: 1, oldestDueTs: T0 + 10 },
          { priority: 0, due: 2, oldestDueTs: T0 },
        ],
        pastDeadline: 0,
      });
      const later = await store.queueAge({ now: T0 + 20_000 });
      expect(later.byPriority).toEqual([
        { priority: 5, due: 1, oldestDueTs: T0 + 10_200 },
        { priority: 3, due: 1, oldestDueTs: T0 + 10 },
        { priority: 0, due: 2, oldestDueTs: T0 },
      ]);
    });

    it('without a test clock judges by the database clock', async () => {
      const { store } = await open();
      const before = Date.now();
      await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000 });
      const age = await store.queueAge();
      // Generous bounds: the database clock may differ from this process's by a little.
      expect(age.checkedAt).toBeGreaterThan(before - 60_000);
      expect(age.byPriority).toHaveLength(1);
      expect(age.byPriority[0]!.due).toBe(1);
      expect(age.checkedAt - age.byPriority[0]!.oldestDueTs).toBeGreaterThanOrEqual(0);
    });
  });
}
