/**
 * Conformance: timeouts recorded as failures, non-retryable errors, and `max_retries = 0`
 * (DESIGN §3 Retries, Timeouts). Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, T0, claimOne, expectBackoff, freshStores, kindsOf, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the timeout, non-retryable and max_retries 0 cases for `factory`. */
export function describeFailures(factory: StoreFactory): void {
  describe('timeouts and non-retryable failures', () => {
    const open = freshStores(factory);

    async function claimedStep(maxRetries: number) {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries });
      await claimOne(store, POD_A, T0, stepId);
      return { store, stepId };
    }

    it('retries a timed-out attempt like an error, recording reason timeout', async () => {
      const { store, stepId } = await claimedStep(2);
      const outcome = await store.stepFail({
        stepId,
        podId: POD_A,
        attempt: 1,
        error: 'timed out after 900000 ms',
        retryable: true,
        reason: 'timeout',
        now: T0 + 900_000,
      });
      expect(outcome.applied && outcome.outcome).toBe('retried');
      const row = await mustGet(store, stepId);
      expect(row).toMatchObject({ status: 'pending', retryCount: 1, claimedBy: null, lastError: 'timed out after 900000 ms' });
      expectBackoff(row, T0 + 900_000, 1);
      expect((await lastEvent(store, stepId)).detail).toMatchObject({ reason: 'timeout', error: 'timed out after 900000 ms', retry_count: 1 });
    });

    it('dead-letters a timeout with no retries left, with reason timeout', async () => {
      const { store, stepId } = await claimedStep(0);
      const outcome = await store.stepFail({ stepId, podId: POD_A, attempt: 1, error: 'timed out', retryable: true, reason: 'timeout', now: T0 + 5 });
      expect(outcome.applied && outcome.outcome).toBe('dead_lettered');
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'failed', retryCount: 0, claimedBy: POD_A, lastError: 'timed out' });
      const event = await lastEvent(store, stepId);
      expect(event).toMatchObject({ kind: 'dead_lettered', podId: POD_A, attempt: 1, ts: T0 + 5 });
      expect(event.detail).toMatchObject({ reason: 'timeout', error: 'timed out', retry_count: 0 });
    });

    it('dead-letters a non-retryable error at once although retries are left', async () => {
      const { store, stepId } = await claimedStep(5);
      const outcome = await store.stepFail({ stepId, podId: POD_A, attempt: 1, error: 'invalid card', retryable: false, reason: 'error', now: T0 + 5 });
      expect(outcome.applied && outcome.outcome).toBe('dead_lettered');
      expect(await mustGet(store, stepId)).toMatchObject({
        status: 'failed',
        retryCount: 0,
        maxRetries: 5,
        claimedBy: POD_A,
        attempt: 1,
        lastError: 'invalid card',
      });
      expect(await kindsOf(store, stepId)).toEqual(['submitted', 'claimed', 'dead_lettered']);
      expect((await lastEvent(store, stepId)).detail).toMatchObject({ reason: 'non_retryable', error: 'invalid card', retry_count: 0 });
    });

    it('with max_retries 0, dead-letters the first failure', async () => {
      const { store, stepId } = await claimedStep(0);
      const outcome = await store.stepFail({ stepId, podId: POD_A, attempt: 1, error: 'boom', retryable: true, reason: 'error', now: T0 + 5 });
      expect(outcome).toMatchObject({ applied: true, outcome: 'dead_lettered' });
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'failed', retryCount: 0, attempt: 1, lastError: 'boom' });
      expect((await lastEvent(store, stepId)).detail).toMatchObject({ reason: 'error', error: 'boom', retry_count: 0 });
    });
  });
}
