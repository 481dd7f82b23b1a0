/**
 * Conformance: release on drain and its cap (DESIGN §3 Drain). Below `maxReleases` a release requeues
 * at once without spending a retry; past it, a release counts as a retry (reason `release`), so a
 * step starts at most `max_retries + 1 + release_count` times. Must not depend on a driver's SQL.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, POD_B, POLICY, T0, claimAll, claimOne, expectBackoff, freshStores, kindsOf, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the release and release-cap cases for `factory`. */
export function describeRelease(factory: StoreFactory): void {
  describe('release and its cap', () => {
    const open = freshStores(factory);

    it('requeues for immediate claim, counting the release and not the retry', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      const outcome = await store.stepRelease({ stepId, podId: POD_A, attempt: 1, reason: 'drain', now: T0 + 100 });
      expect(outcome.applied && outcome.outcome).toBe('released');
      expect(await mustGet(store, stepId)).toMatchObject({
        status: 'pending',
        claimedBy: null,
        attempt: 1,
        retryCount: 0,
        releaseCount: 1,
        runAfter: T0 + 100,
        lastError: null,
        lastUpdateTs: T0 + 100,
      });
      const event = await lastEvent(store, stepId);
      expect(event).toMatchObject({ kind: 'released', podId: POD_A, attempt: 1, ts: T0 + 100 });
      expect(event.detail).toMatchObject({ release_count: 1 });
      expect((await claimOne(store, POD_B, T0 + 100, stepId)).attempt).toBe(2);
    });

    it('after maxReleases releases, counts each release as a retry, then dead-letters with reason release', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const maxRetries = 2;
      const stepId = await submit(store, { maxRetries });
      let t = T0;
      const outcomes: string[] = [];
      for (let attempt = 1; ; attempt++) {
        await claimOne(store, POD_A, t, stepId);
        const outcome = await store.stepRelease({ stepId, podId: POD_A, attempt, now: t + 1 });
        expect(outcome.applied).toBe(true);
        if (!outcome.applied) break;
        outcomes.push(outcome.outcome);
        const row = await mustGet(store, stepId);
        const event = await lastEvent(store, stepId);
        if (outcome.outcome === 'released') {
          expect(row).toMatchObject({ status: 'pending', claimedBy: null, releaseCount: attempt, retryCount: 0, runAfter: t + 1 });
          expect(event.detail).toMatchObject({ release_count: attempt });
        } else if (outcome.outcome === 'retried') {
          const n = attempt - POLICY.maxReleases;
          expect(row).toMatchObject({ status: 'pending', claimedBy: null, releaseCount: POLICY.maxReleases, retryCount: n });
          expectBackoff(row, t + 1, n);
          expect(event).toMatchObject({ kind: 'retried', podId: POD_A, attempt });
          expect(event.detail).toMatchObject({ reason: 'release', retry_count: n });
          expect(row.lastError).toBe(event.detail['error']);
          expect(typeof row.lastError).toBe('string');
        } else {
          expect(row).toMatchObject({ status: 'failed', claimedBy: POD_A, releaseCount: POLICY.maxReleases, retryCount: maxRetries });
          expect(event).toMatchObject({ kind: 'dead_lettered', podId: POD_A, attempt });
          expect(event.detail).toMatchObject({ reason: 'release', retry_count: maxRetries });
          break;
        }
        t = row.runAfter;
      }
      expect(outcomes).toEqual(['released', 'released', 'released', 'retried', 'retried', 'dead_lettered']);
      const row = await mustGet(store, stepId);
      expect(row.attempt).toBe(row.maxRetries + 1 + row.releaseCount);
      expect((await kindsOf(store, stepId)).filter((k) => k === 'claimed')).toHaveLength(6);
      expect(await claimAll(store, POD_A, t + 10_000_000)).toEqual([]);
    });

    it('takes the release cap from the store policy', async () => {
      const { store } = await open({ policy: { maxReleases: 1 } });
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries: 3 });
      await claimOne(store, POD_A, T0, stepId);
      expect(await store.stepRelease({ stepId, podId: POD_A, attempt: 1, now: T0 })).toMatchObject({ applied: true, outcome: 'released' });
      await claimOne(store, POD_A, T0, stepId);
      expect(await store.stepRelease({ stepId, podId: POD_A, attempt: 2, now: T0 })).toMatchObject({ applied: true, outcome: 'retried' });
      expect(await mustGet(store, stepId)).toMatchObject({ releaseCount: 1, retryCount: 1 });
    });
  });
}
