/**
 * Conformance: read models for operators: queue statistics (`GET /admin/queue`) and the DLQ list
 * (`GET /admin/dlq`), newest first with paging. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { POD_A, POD_B, POD_C, POLICY, T0, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const TYPES = ['echo', 'fail', 'sleep'];

/** Claims the single best step of `types` for `podId` and returns its id. */
async function claimNext(store: Store, podId: string, now: number): Promise<string> {
  const rows = await store.stepClaim({ podId, types: TYPES, limit: 1, now });
  expect(rows).toHaveLength(1);
  return rows[0]!.stepId;
}

/** Registers the queue-stats and DLQ-list cases for `factory`. */
export function describeStats(factory: StoreFactory): void {
  describe('queue stats', () => {
    const open = freshStores(factory);

    it('counts by status, pending by priority, active by type, claims and capacity per live pod, and the leader', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0, 4);
      await registerPod(store, POD_B, T0 + 1, 2);
      await registerPod(store, POD_C, T0 + 2, 3);
      await store.podMarkDown({ podId: POD_C, now: T0 + 2 });
      const done = await submit(store, { type: 'echo', priority: 9 });
      const dead = await submit(store, { type: 'fail', priority: 8, maxRetries: 0 });
      for (const type of ['sleep', 'sleep', 'echo']) await submit(store, { type, priority: type === 'sleep' ? 7 : 6 });
      await submit(store, { type: 'echo', priority: 0 });
      await submit(store, { type: 'echo', priority: 0 });
      await submit(store, { type: 'echo', priority: 5 });
      await submit(store, { type: 'sleep', priority: 2 });
      expect(await claimNext(store, POD_A, T0 + 5)).toBe(done);
      expect(await claimNext(store, POD_A, T0 + 5)).toBe(dead);
      await claimNext(store, POD_A, T0 + 5);
      await claimNext(store, POD_A, T0 + 5);
      await claimNext(store, POD_B, T0 + 5);
      await store.stepComplete({ stepId: done, podId: POD_A, attempt: 1, result: 1, now: T0 + 6 });
      await store.stepFail({ stepId: dead, podId: POD_A, attempt: 1, error: 'x', retryable: true, reason: 'error', now: T0 + 6 });

      const stats = await store.queueStats({ now: T0 + 10 });
      expect({ ...stats, pods: [...stats.pods].sort((a, b) => a.podId.localeCompare(b.podId)) }).toEqual({
        pending: 4,
        claimed: 3,
        completed: 1,
        failed: 1,
        cancelled: 0,
        pendingByPriority: { '0': 2, '2': 1, '5': 1 },
        activeByType: { echo: 4, sleep: 3 },
        pods: [
          { podId: POD_A, claimed: 2, capacity: 4 },
          { podId: POD_B, claimed: 1, capacity: 2 },
        ],
        leader: POD_A,
      });
    });

    it('leaves out pods that are no longer live, and answers zeros and no leader for an empty queue', async () => {
      const { store } = await open();
      expect(await store.queueStats({ now: T0 })).toEqual({
        pending: 0,
        claimed: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        pendingByPriority: {},
        activeByType: {},
        pods: [],
        leader: null,
      });
      await registerPod(store, POD_A, T0, 4);
      await registerPod(store, POD_B, T0 + 10, 2);
      const stats = await store.queueStats({ now: T0 + POLICY.deadPodThresholdMs });
      expect(stats.pods).toEqual([{ podId: POD_B, claimed: 0, capacity: 2 }]);
      expect(stats.leader).toBe(POD_B);
    });
  });

  describe('DLQ list', () => {
    const open = freshStores(factory);

    it('lists failed steps newest first (last_update_ts, then step_id, descending) with the total, paged by limit and offset', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0, 10);
      const completed = await submit(store, { priority: 1 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await submit(store, { maxRetries: 0, args: { i } }));
      const keep = await submit(store, { delayMs: 1_000_000 });
      expect(await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 10, now: T0 })).toHaveLength(6);
      await store.stepComplete({ stepId: completed, podId: POD_A, attempt: 1, result: null, now: T0 + 50 });
      const failAt = [T0 + 10, T0 + 20, T0 + 30, T0 + 30, T0 + 40];
      for (const [i, at] of failAt.entries()) {
        await store.stepFail({ stepId: ids[i]!, podId: POD_A, attempt: 1, error: `e${i}`, retryable: false, reason: 'error', now: at });
      }
      const tie = [ids[2]!, ids[3]!].sort().reverse();
      const newestFirst = [ids[4]!, ...tie, ids[1]!, ids[0]!];

      const all = await store.dlqList({ limit: 50, offset: 0 });
      expect(all.total).toBe(5);
      expect(all.steps.map((s) => s.stepId)).toEqual(newestFirst);
      expect(all.steps[0]).toEqual(await mustGet(store, ids[4]!));
      expect(all.steps.every((s) => s.status === 'failed')).toBe(true);

      const pages = [
        await store.dlqList({ limit: 2, offset: 0 }),
        await store.dlqList({ limit: 2, offset: 2 }),
        await store.dlqList({ limit: 2, offset: 4 }),
        await store.dlqList({ limit: 2, offset: 10 }),
      ];
      expect(pages.map((p) => p.total)).toEqual([5, 5, 5, 5]);
      expect(pages.map((p) => p.steps.map((s) => s.stepId))).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4), []]);
      expect((await mustGet(store, keep)).status).toBe('pending');
    });
  });
}
