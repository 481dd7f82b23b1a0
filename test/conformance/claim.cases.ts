/**
 * Conformance: claiming (DESIGN §3 Claim): batch limit, registered types only, order
 * `priority DESC, created_ts, step_id`, `run_after <= now`, attempt counted at claim, fencing of
 * pods that are down or unknown. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { PodFencedError } from '../../src/errors.js';
import { CLAIMED_STEP_FIELDS, claimedStepOf } from '../../src/store/store.js';
import { POD_A, T0, TYPE, claimAll, eventsOf, freshStores, kindsOf, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the claim cases for `factory`. */
export function describeClaim(factory: StoreFactory): void {
  describe('claim', () => {
    const open = freshStores(factory);

    it('marks the step claimed by the pod, counts the attempt and writes one claimed event', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store);
      const rows = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 5, now: T0 + 10 });
      expect(rows).toHaveLength(1);
      const row = await mustGet(store, stepId);
      expect(row).toMatchObject({ stepId, status: 'claimed', claimedBy: POD_A, attempt: 1, retryCount: 0, lastUpdateTs: T0 + 10 });
      expect(rows[0]).toEqual(claimedStepOf(row));
      const events = await eventsOf(store, stepId);
      expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed']);
      expect(events[1]).toMatchObject({ kind: 'claimed', podId: POD_A, attempt: 1, ts: T0 + 10 });
    });

    it("answers each step's claim fields and nothing else, as the claim left them", async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const parent = await submit(store, { now: T0 - 5 });
      await claimAll(store, POD_A, T0 - 4);
      await store.stepComplete({ stepId: parent, podId: POD_A, attempt: 1, result: 1, now: T0 - 3 });
      const full = await submit(store, {
        args: { n: [1, 'two', null], s: 'x"y' },
        metadata: { team: 'a' },
        priority: 7,
        timeoutMs: 12_345,
        idempotencyKey: 'k-1',
        deadline: T0 + 60_000,
        dependsOn: [parent],
      });
      const plain = await submit(store, { now: T0 + 1 });
      const rows = await claimAll(store, POD_A, T0 + 10);
      expect(rows.map((r) => r.stepId)).toEqual([full, plain]);
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual([...CLAIMED_STEP_FIELDS].sort());
        expect(row).toEqual(claimedStepOf(await mustGet(store, row.stepId)));
      }
      expect(rows[0]).toEqual({
        stepId: full,
        type: TYPE,
        args: { n: [1, 'two', null], s: 'x"y' },
        priority: 7,
        attempt: 1,
        timeoutMs: 12_345,
        idempotencyKey: 'k-1',
        createdTs: T0,
        dependsOn: [parent],
        deadline: T0 + 60_000,
      });
      expect(rows[1]).toMatchObject({ priority: 0, idempotencyKey: null, dependsOn: [], deadline: null, createdTs: T0 + 1 });
    });

    it('claims at most limit steps per call, and nothing once the queue is empty', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      for (let i = 0; i < 5; i++) await submit(store, { args: { i } });
      const batch = (limit: number) => store.stepClaim({ podId: POD_A, types: [TYPE], limit, now: T0 });
      expect(await batch(3)).toHaveLength(3);
      expect(await batch(3)).toHaveLength(2);
      expect(await batch(3)).toHaveLength(0);
      expect((await store.queueStats({ now: T0 })).claimed).toBe(5);
    });

    it('claims nothing with limit 0', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store);
      expect(await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 0, now: T0 })).toEqual([]);
      expect((await mustGet(store, stepId)).status).toBe('pending');
    });

    it('claims only the types it is given, and nothing for an empty type list', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const echo = await submit(store, { type: 'echo' });
      const sleep = await submit(store, { type: 'sleep' });
      expect(await store.stepClaim({ podId: POD_A, types: [], limit: 10, now: T0 })).toEqual([]);
      expect((await store.stepClaim({ podId: POD_A, types: ['sleep', 'fail'], limit: 10, now: T0 })).map((r) => r.stepId)).toEqual([sleep]);
      expect((await mustGet(store, echo)).status).toBe('pending');
      expect(await kindsOf(store, echo)).toEqual(['submitted']);
    });

    it('orders by priority DESC, then created_ts, then step_id', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const low = await submit(store, { priority: 0, now: T0 });
      const highOld = await submit(store, { priority: 5, now: T0 + 1 });
      const highNew = await submit(store, { priority: 5, now: T0 + 2 });
      const negative = await submit(store, { priority: -1, now: T0 });
      // Equal priority and created_ts: step_id, which one process makes in submission order.
      const midTies = [
        await submit(store, { priority: 3, now: T0 + 3 }),
        await submit(store, { priority: 3, now: T0 + 3 }),
        await submit(store, { priority: 3, now: T0 + 3 }),
      ];
      expect([...midTies].sort()).toEqual(midTies);
      const expected = [highOld, highNew, ...midTies, low, negative];
      const order: string[] = [];
      for (;;) {
        const rows = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 1, now: T0 + 10 });
        if (rows.length === 0) break;
        order.push(rows[0]!.stepId);
      }
      expect(order).toEqual(expected);
    });

    it("claims a batch's steps in the order they were submitted", async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const { results } = await store.stepSubmitBatch({
        now: T0,
        steps: Array.from({ length: 300 }, (_, i) => ({ type: TYPE, args: { i }, maxRetries: 0, timeoutMs: 1_000 })),
      });
      const claimed: string[] = [];
      for (;;) {
        const rows = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 40, now: T0 + 1 });
        if (rows.length === 0) break;
        claimed.push(...rows.map((r) => r.stepId).sort());
      }
      expect(claimed).toEqual(results.map((r) => r.stepId));
    });

    it('takes the best steps into a batch, leaving the rest pending', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const low = await submit(store, { priority: 1 });
      const top = await submit(store, { priority: 9 });
      const next = await submit(store, { priority: 5 });
      const rows = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 2, now: T0 });
      expect(rows.map((r) => r.stepId).sort()).toEqual([top, next].sort());
      expect((await mustGet(store, low)).status).toBe('pending');
    });

    it('does not claim a step before its run_after, and claims it at run_after', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { delayMs: 5_000 });
      expect(await claimAll(store, POD_A, T0 + 4_999)).toEqual([]);
      expect((await claimAll(store, POD_A, T0 + 5_000)).map((r) => r.stepId)).toEqual([stepId]);
    });

    it('claims a burst of more than a thousand delayed steps falling due together in claim order', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const ready = await submit(store, { now: T0 - 1 });
      const BURST = 1_200;
      const { results } = await store.stepSubmitBatch({
        now: T0,
        steps: Array.from({ length: BURST }, (_, i) => ({
          type: TYPE,
          args: { i },
          maxRetries: 0,
          timeoutMs: 1_000,
          delayMs: 1_000,
          ...(i === 1_100 || i === 1_150 ? { priority: 5 } : {}),
          ...(i === 1_199 ? { deadline: T0 + 5_000 } : {}),
        })),
      });
      const ids = results.map((r) => r.stepId);
      expect(await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 3, now: T0 + 999 })).toHaveLength(1);
      const first = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 3, now: T0 + 1_000 });
      // Priority first, then the deadline, then created_ts (one for the whole burst), then step_id.
      const special = [1_100, 1_150, 1_199];
      expect(first.map((r) => r.stepId)).toEqual([ids[1_100], ids[1_150], ids[1_199]]);
      const next = await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 2, now: T0 + 1_000 });
      const plain = ids.filter((_, i) => !special.includes(i));
      expect(next.map((r) => r.stepId)).toEqual(plain.slice(0, 2));
      expect((await mustGet(store, ready)).status).toBe('claimed');
    });

    it('refuses a pod with no pod_health row with PodFencedError, claiming nothing', async () => {
      const { store } = await open();
      const stepId = await submit(store);
      await expect(claimAll(store, POD_A, T0)).rejects.toBeInstanceOf(PodFencedError);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'pending', claimedBy: null, attempt: 0 });
      expect(await kindsOf(store, stepId)).toEqual(['submitted']);
    });

    it('refuses a pod marked down with PodFencedError, claiming nothing', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await store.podMarkDown({ podId: POD_A, now: T0 });
      const stepId = await submit(store);
      await expect(claimAll(store, POD_A, T0 + 1)).rejects.toBeInstanceOf(PodFencedError);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'pending', claimedBy: null, attempt: 0 });
      expect(await kindsOf(store, stepId)).toEqual(['submitted']);
    });

    it('never hands out a claimed step again', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await submit(store);
      expect(await claimAll(store, POD_A, T0)).toHaveLength(1);
      expect(await claimAll(store, POD_A, T0 + 1)).toEqual([]);
    });
  });
}
