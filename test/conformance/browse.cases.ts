/**
 * Conformance: the dashboard reads. `stepList` filters by status, type, id prefix and idempotency
 * key and pages in the order of the index that serves the filter; `queueActivity` counts audit
 * events per kind and bucket over a window and names the oldest due pending step. Must not depend
 * on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { POD_A, T0, freshStores, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const ids = (rows: readonly { stepId: string }[]): string[] => rows.map((r) => r.stepId);

/** Claims exactly `stepId` (the best step of its type at `now`) for POD_A. */
async function claim(store: Store, type: string, now: number): Promise<string> {
  const rows = await store.stepClaim({ podId: POD_A, types: [type], limit: 1, now });
  expect(rows).toHaveLength(1);
  return rows[0]!.stepId;
}

/** Registers the step-list and queue-activity cases for `factory`. */
export function describeBrowse(factory: StoreFactory): void {
  describe('browsing steps', () => {
    const open = freshStores(factory);

    it('lists pending steps in claim order, terminal ones last updated first, and all steps newest first, with paging', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const low = await submit(store, { priority: 0, now: T0 + 1 });
      const high = await submit(store, { priority: 5, now: T0 + 2 });
      const first = await submit(store, { type: 'sleep', now: T0 + 3 });
      const second = await submit(store, { type: 'sleep', now: T0 + 4 });
      expect(await claim(store, 'sleep', T0 + 10)).toBe(first);
      expect(await claim(store, 'sleep', T0 + 11)).toBe(second);
      await store.stepComplete({ stepId: second, podId: POD_A, attempt: 1, result: null, now: T0 + 20 });
      await store.stepComplete({ stepId: first, podId: POD_A, attempt: 1, result: null, now: T0 + 30 });

      expect(ids(await store.stepList({ status: 'pending', limit: 10, offset: 0 }))).toEqual([high, low]);
      expect(ids(await store.stepList({ status: 'completed', limit: 10, offset: 0 }))).toEqual([first, second]);
      expect(ids(await store.stepList({ limit: 10, offset: 0 }))).toEqual([second, first, high, low]);
      expect(ids(await store.stepList({ limit: 2, offset: 1 }))).toEqual([first, high]);
      expect(await store.stepList({ status: 'failed', limit: 10, offset: 0 })).toEqual([]);
      const [row] = await store.stepList({ status: 'completed', limit: 1, offset: 0 });
      expect(row).toEqual(await store.stepGet({ stepId: first }));
    });

    it('filters by type, id prefix and idempotency key, each combined with status', async () => {
      const { store } = await open();
      const keyed = await submit(store, { type: 'sleep', idempotencyKey: 'order-17', now: T0 + 1 });
      const echo = await submit(store, { idempotencyKey: 'order-17', now: T0 + 2 });
      const other = await submit(store, { type: 'sleep', now: T0 + 3 });

      expect(ids(await store.stepList({ type: 'sleep', limit: 10, offset: 0 }))).toEqual([other, keyed]);
      expect(ids(await store.stepList({ idempotencyKey: 'order-17', limit: 10, offset: 0 })).sort()).toEqual([echo, keyed].sort());
      expect(ids(await store.stepList({ idempotencyKey: 'order-17', type: 'echo', status: 'pending', limit: 10, offset: 0 }))).toEqual([echo]);
      expect(ids(await store.stepList({ stepIdPrefix: echo, limit: 10, offset: 0 }))).toEqual([echo]);
      expect(ids(await store.stepList({ stepIdPrefix: echo.slice(0, -1), status: 'pending', limit: 10, offset: 0 }))).toContain(echo);
      expect(await store.stepList({ stepIdPrefix: 'step_zzz', limit: 10, offset: 0 })).toEqual([]);
      expect(await store.stepList({ type: 'sleep', status: 'claimed', limit: 10, offset: 0 })).toEqual([]);
    });
  });

  describe('queue activity', () => {
    const open = freshStores(factory);

    it('counts the asked kinds per bucket inside the window, never past now', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const bucket = 60_000;
      const start = Math.ceil(T0 / bucket) * bucket;
      const old = await submit(store, { now: start - 10 * bucket });
      const due = await submit(store, { now: start + 1_000 });
      await submit(store, { now: start + 2_000, delayMs: 50 * bucket });
      expect(await claim(store, 'echo', start + bucket + 5)).toBe(old);
      await store.stepComplete({ stepId: old, podId: POD_A, attempt: 1, result: 1, now: start + bucket + 10 });

      const all = ['submitted', 'claimed', 'completed'] as const;
      const activity = await store.queueActivity({ kinds: all, windowMs: 5 * bucket, bucketMs: bucket, now: start + 3 * bucket });
      expect(activity.now).toBe(start + 3 * bucket);
      expect(activity.buckets).toEqual([
        { bucketStart: start, kind: 'submitted', count: 2 },
        { bucketStart: start + bucket, kind: 'claimed', count: 1 },
        { bucketStart: start + bucket, kind: 'completed', count: 1 },
      ]);
      expect(due).not.toBe(old);

      const onlyDone = await store.queueActivity({ kinds: ['completed'], windowMs: 5 * bucket, bucketMs: bucket, now: start + 3 * bucket });
      expect(onlyDone.buckets).toEqual([{ bucketStart: start + bucket, kind: 'completed', count: 1 }]);
      const narrow = await store.queueActivity({ kinds: all, windowMs: bucket, bucketMs: bucket, now: start + 3 * bucket });
      expect(narrow.buckets).toEqual([]);
      const before = await store.queueActivity({ kinds: all, windowMs: bucket, bucketMs: bucket, now: start + 1_500 });
      expect(before.buckets).toEqual([{ bucketStart: start, kind: 'submitted', count: 1 }]);
      const none = await store.queueActivity({ kinds: all, windowMs: bucket, bucketMs: bucket, now: start });
      expect(none.buckets).toEqual([]);
    });
  });
}
