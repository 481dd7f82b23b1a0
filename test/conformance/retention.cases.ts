/**
 * Conformance: retention (DESIGN §3: the leader prunes terminal steps, their events, and `down` pods
 * with no claims, older than the retention window). Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, POD_B, POD_C, T0, TYPE, allEvents, eventsOf, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const DAY = 86_400_000;
const POD_D = 'delta-0000000d';

/** Registers the retention cases for `factory`. */
export function describeRetention(factory: StoreFactory): void {
  describe('retention', () => {
    const open = freshStores(factory);

    /** Terminal steps and down pods on both sides of `cutoff = now − DAY`. */
    async function history() {
      const { store } = await open();
      const now = T0 + 10 * DAY;
      const cutoff = now - DAY;
      for (const pod of [POD_A, POD_B, POD_C]) await registerPod(store, pod, T0);
      const oldCompleted = await submit(store, { priority: 4, idempotencyKey: 'once', args: { v: 1 } });
      const oldFailed = await submit(store, { priority: 3, maxRetries: 0 });
      const atCutoff = await submit(store, { priority: 2 });
      const recent = await submit(store, { priority: 1 });
      expect(await store.stepClaim({ podId: POD_A, types: [TYPE], limit: 4, now: T0 })).toHaveLength(4);
      const oldClaimed = await submit(store);
      expect(await store.stepClaim({ podId: POD_B, types: [TYPE], limit: 4, now: T0 })).toHaveLength(1);
      const oldPending = await submit(store, { now: T0 + 4 });
      await store.stepComplete({ stepId: oldCompleted, podId: POD_A, attempt: 1, result: 1, now: T0 + 1 });
      await store.stepComplete({ stepId: oldCompleted, podId: POD_B, attempt: 1, result: 2, now: T0 + 1 });
      await store.stepFail({ stepId: oldFailed, podId: POD_A, attempt: 1, error: 'x', retryable: true, reason: 'error', now: T0 + 2 });
      await store.stepComplete({ stepId: atCutoff, podId: POD_A, attempt: 1, result: 1, now: cutoff });
      await store.stepComplete({ stepId: recent, podId: POD_A, attempt: 1, result: 1, now: cutoff + 1 });
      await store.podMarkDown({ podId: POD_A, now: T0 + 3 });
      await store.podMarkDown({ podId: POD_B, now: T0 + 3 });
      await registerPod(store, POD_D, cutoff + 1);
      await store.podMarkDown({ podId: POD_D, now: cutoff + 1 });
      return { store, now, pruned: [oldCompleted, oldFailed], kept: [atCutoff, recent, oldClaimed, oldPending] };
    }

    it('deletes terminal steps last updated before the cutoff and all their events, and down pods without claims', async () => {
      const h = await history();
      const prunedEvents = (await eventsOf(h.store, h.pruned[0]!)).length + (await eventsOf(h.store, h.pruned[1]!)).length;
      expect(prunedEvents).toBe(7);
      const keptEvents = (await allEvents(h.store)).filter((e) => !h.pruned.includes(e.stepId));
      const keptRows = await Promise.all(h.kept.map((stepId) => mustGet(h.store, stepId)));

      expect(await h.store.retentionPrune({ olderThanMs: DAY, now: h.now })).toEqual({ steps: 2, events: 7, pods: 1 });
      for (const stepId of h.pruned) {
        expect(await h.store.stepGet({ stepId })).toBeNull();
        expect(await eventsOf(h.store, stepId)).toEqual([]);
      }
      expect(await Promise.all(h.kept.map((stepId) => mustGet(h.store, stepId)))).toEqual(keptRows);
      expect(await allEvents(h.store)).toEqual(keptEvents);
      expect((await h.store.podList({ now: h.now })).map((p) => p.podId)).toEqual([POD_B, POD_C, POD_D]);
    });

    it('prunes nothing more on a second run', async () => {
      const h = await history();
      await h.store.retentionPrune({ olderThanMs: DAY, now: h.now });
      expect(await h.store.retentionPrune({ olderThanMs: DAY, now: h.now })).toEqual({ steps: 0, events: 0, pods: 0 });
    });

    it('is a no-op when olderThanMs is not positive', async () => {
      const h = await history();
      const events = await allEvents(h.store);
      expect(await h.store.retentionPrune({ olderThanMs: 0, now: h.now + 100 * DAY })).toEqual({ steps: 0, events: 0, pods: 0 });
      expect(await h.store.retentionPrune({ olderThanMs: -DAY, now: h.now + 100 * DAY })).toEqual({ steps: 0, events: 0, pods: 0 });
      expect(await allEvents(h.store)).toEqual(events);
      expect(await h.store.podList({ now: h.now })).toHaveLength(4);
    });

    it('frees the idempotency key of a pruned step', async () => {
      const h = await history();
      await h.store.retentionPrune({ olderThanMs: DAY, now: h.now });
      const again = await h.store.stepSubmit({ type: TYPE, args: { v: 2 }, maxRetries: 1, timeoutMs: 1_000, idempotencyKey: 'once', now: h.now });
      expect(again.outcome).toBe('submitted');
      expect(again.stepId).not.toBe(h.pruned[0]);
    });

    it('prunes batch after batch until a batch finds fewer than batchSize steps, with the same outcome', async () => {
      const h = await history();
      const keptEvents = (await allEvents(h.store)).filter((e) => !h.pruned.includes(e.stepId));
      // Two expired steps in batches of one: a driver that stops after its first batch prunes one.
      expect(await h.store.retentionPrune({ olderThanMs: DAY, now: h.now, batchSize: 1 })).toEqual({ steps: 2, events: 7, pods: 1 });
      for (const stepId of h.pruned) expect(await h.store.stepGet({ stepId })).toBeNull();
      expect(await allEvents(h.store)).toEqual(keptEvents);
      expect(await h.store.retentionPrune({ olderThanMs: DAY, now: h.now, batchSize: 1 })).toEqual({ steps: 0, events: 0, pods: 0 });
    });
  });
}
