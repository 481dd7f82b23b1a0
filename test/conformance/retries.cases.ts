/**
 * Conformance: retry accounting and backoff (DESIGN §3 Retries). A retryable failure with retries
 * left requeues with `run_after = now + min(base·2^(n−1), max)·U[0.5,1]`; out of retries it
 * dead-letters with `retry_count == max_retries`. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import type { StorePolicy } from '../../src/store/store.js';
import { POD_A, POD_B, POLICY, T0, claimAll, claimOne, expectBackoff, freshStores, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the retry-accounting and backoff cases for `factory`. */
export function describeRetries(factory: StoreFactory): void {
  describe('retries and backoff', () => {
    const open = freshStores(factory);

    it('requeues each failure with retry_count n and backoff within [d/2, d], d capped at maxDelayMs, never claimable early', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries: 6 });
      let t = T0;
      await claimOne(store, POD_A, t, stepId);
      for (let n = 1; n <= 6; n++) {
        const failedAt = t + 10;
        const outcome = await store.stepFail({ stepId, podId: POD_A, attempt: n, error: `boom ${n}`, retryable: true, reason: 'error', now: failedAt });
        expect(outcome.applied && outcome.outcome).toBe('retried');
        const row = await mustGet(store, stepId);
        expect(row).toMatchObject({ status: 'pending', claimedBy: null, attempt: n, retryCount: n, lastError: `boom ${n}`, lastUpdateTs: failedAt });
        expectBackoff(row, failedAt, n);
        const event = await lastEvent(store, stepId);
        expect(event).toMatchObject({ kind: 'retried', podId: POD_A, attempt: n, ts: failedAt });
        expect(event.detail).toMatchObject({ reason: 'error', error: `boom ${n}`, retry_count: n });
        if ('run_after' in event.detail) expect(event.detail['run_after']).toBe(row.runAfter);
        expect(await claimAll(store, POD_A, row.runAfter - 1)).toEqual([]);
        expect((await claimOne(store, POD_A, row.runAfter, stepId)).attempt).toBe(n + 1);
        t = row.runAfter;
      }
    });

    it('dead-letters the failure that finds no retries left: status failed, retry_count == max_retries, holder and error kept', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B);
      const stepId = await submit(store, { maxRetries: 2 });
      let t = T0;
      const pods = [POD_A, POD_B, POD_A];
      for (let n = 1; n <= 3; n++) {
        await claimOne(store, pods[n - 1]!, t, stepId);
        const outcome = await store.stepFail({ stepId, podId: pods[n - 1]!, attempt: n, error: `err ${n}`, retryable: true, reason: 'error', now: t + 1 });
        expect(outcome.applied && outcome.outcome).toBe(n <= 2 ? 'retried' : 'dead_lettered');
        t = (await mustGet(store, stepId)).runAfter + 1;
      }
      const row = await mustGet(store, stepId);
      expect(row).toMatchObject({ status: 'failed', claimedBy: POD_A, attempt: 3, retryCount: 2, maxRetries: 2, lastError: 'err 3' });
      const event = await lastEvent(store, stepId);
      expect(event).toMatchObject({ kind: 'dead_lettered', podId: POD_A, attempt: 3 });
      expect(event.detail).toMatchObject({ reason: 'error', error: 'err 3', retry_count: 2 });
      expect(await claimAll(store, POD_B, t + 10_000_000)).toEqual([]);
    });

    it('takes base and max delay from the store policy', async () => {
      const policy: StorePolicy = { ...POLICY, baseDelayMs: 200, maxDelayMs: 300 };
      const { store } = await open({ policy });
      expect(store.policy).toMatchObject({ baseDelayMs: 200, maxDelayMs: 300 });
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries: 3 });
      let t = T0;
      for (let n = 1; n <= 3; n++) {
        await claimOne(store, POD_A, t, stepId);
        await store.stepFail({ stepId, podId: POD_A, attempt: n, error: 'e', retryable: true, reason: 'error', now: t });
        const row = await mustGet(store, stepId);
        expectBackoff(row, t, n, policy);
        t = row.runAfter;
      }
    });

    it('jitters: twenty steps failing at the same instant do not all get the same run_after', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0, 20);
      for (let i = 0; i < 20; i++) await submit(store, { args: { i } });
      const claimed = await claimAll(store, POD_A, T0);
      expect(claimed).toHaveLength(20);
      const runAfters = new Set<number>();
      for (const row of claimed) {
        await store.stepFail({ stepId: row.stepId, podId: POD_A, attempt: 1, error: 'e', retryable: true, reason: 'error', now: T0 + 1 });
        const after = await mustGet(store, row.stepId);
        expectBackoff(after, T0 + 1, 1);
        runAfters.add(after.runAfter);
      }
      expect(runAfters.size).toBeGreaterThan(1);
    });

    it('keeps last_error through the next claim and completion', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      await store.stepFail({ stepId, podId: POD_A, attempt: 1, error: 'first failure', retryable: true, reason: 'error', now: T0 });
      const { runAfter } = await mustGet(store, stepId);
      await claimOne(store, POD_A, runAfter, stepId);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'claimed', attempt: 2, lastError: 'first failure' });
      await store.stepComplete({ stepId, podId: POD_A, attempt: 2, result: null, now: runAfter + 1 });
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'completed', lastError: 'first failure', retryCount: 1, result: null });
    });
  });
}
