/**
 * Conformance: fenced writes (DESIGN §3). Complete, fail and release match `(step_id, claimed_by,
 * attempt)` and `status='claimed'`; a write that matches nothing changes no row, drops its result and
 * leaves one `stale_write_rejected` event. Also the result size limit. Must not depend on a driver's SQL.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { MAX_RESULT_BYTES } from '../../src/store/json.js';
import type { Store, StepRow } from '../../src/store/store.js';
import { POD_A, POD_B, T0, claimOne, eventsOf, freshStores, kindsOf, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Checks the store is exactly as before, except for one new `stale_write_rejected` event, and returns it. */
async function expectRejected(store: Store, before: StepRow, eventCountBefore: number) {
  expect(await mustGet(store, before.stepId)).toEqual(before);
  const events = await eventsOf(store, before.stepId);
  expect(events).toHaveLength(eventCountBefore + 1);
  const event = events[events.length - 1]!;
  expect(event.kind).toBe('stale_write_rejected');
  return event;
}

/** Registers the fenced-write and result-size cases for `factory`. */
export function describeFencedWrites(factory: StoreFactory): void {
  describe('fenced writes', () => {
    const open = freshStores(factory);

    /** A store with pods A and B, and one step claimed by A (attempt 1). */
    async function claimedByA() {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      return { store, stepId };
    }

    it('completes for the holder: stores the result, keeps claimed_by, writes one completed event', async () => {
      const { store, stepId } = await claimedByA();
      const outcome = await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: { ok: [1, 2] }, now: T0 + 50 });
      expect(outcome.applied).toBe(true);
      const row = await mustGet(store, stepId);
      expect(outcome).toEqual({ applied: true, outcome: 'completed', step: row });
      expect(row).toMatchObject({ status: 'completed', claimedBy: POD_A, attempt: 1, result: { ok: [1, 2] }, lastUpdateTs: T0 + 50 });
      expect(await lastEvent(store, stepId)).toMatchObject({ kind: 'completed', podId: POD_A, attempt: 1, ts: T0 + 50 });
      expect(await kindsOf(store, stepId)).toEqual(['submitted', 'claimed', 'completed']);
    });

    it('rejects a complete from another pod', async () => {
      const { store, stepId } = await claimedByA();
      const before = await mustGet(store, stepId);
      expect(await store.stepComplete({ stepId, podId: POD_B, attempt: 1, result: 'mine', now: T0 + 1 })).toEqual({ applied: false, outcome: 'stale' });
      const event = await expectRejected(store, before, 2);
      expect(event).toMatchObject({ podId: POD_B, attempt: 1, ts: T0 + 1 });
      expect(event.detail).toMatchObject({ write: 'complete', status: 'claimed', claimed_by: POD_A, attempt: 1 });
    });

    it('rejects a complete naming the wrong attempt, recording the attempt the writer claimed', async () => {
      const { store, stepId } = await claimedByA();
      const before = await mustGet(store, stepId);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 2, result: 'x', now: T0 + 1 })).applied).toBe(false);
      const event = await expectRejected(store, before, 2);
      expect(event).toMatchObject({ podId: POD_A, attempt: 2 });
      expect(event.detail).toMatchObject({ write: 'complete', status: 'claimed', claimed_by: POD_A, attempt: 1 });
    });

    it('rejects the old holder after a requeue, and again after another pod reclaimed the step', async () => {
      const { store, stepId } = await claimedByA();
      expect((await store.stepFail({ stepId, podId: POD_A, attempt: 1, error: 'boom', retryable: true, reason: 'error', now: T0 + 1 })).applied).toBe(true);
      const requeued = await mustGet(store, stepId);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'late', now: T0 + 2 })).applied).toBe(false);
      const first = await expectRejected(store, requeued, 3);
      expect(first.detail).toMatchObject({ write: 'complete', status: 'pending', claimed_by: null, attempt: 1 });

      await claimOne(store, POD_B, requeued.runAfter, stepId);
      const reclaimed = await mustGet(store, stepId);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'late', now: requeued.runAfter + 1 })).applied).toBe(false);
      const second = await expectRejected(store, reclaimed, 5);
      expect(second.detail).toMatchObject({ write: 'complete', status: 'claimed', claimed_by: POD_B, attempt: 2 });

      const done = await store.stepComplete({ stepId, podId: POD_B, attempt: 2, result: 'fresh', now: requeued.runAfter + 2 });
      expect(done.applied).toBe(true);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'completed', claimedBy: POD_B, attempt: 2, result: 'fresh' });
    });

    it('rejects a second complete, keeping the first result', async () => {
      const { store, stepId } = await claimedByA();
      await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'first', now: T0 + 1 });
      const before = await mustGet(store, stepId);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'second', now: T0 + 2 })).applied).toBe(false);
      const event = await expectRejected(store, before, 3);
      expect(event.detail).toMatchObject({ write: 'complete', status: 'completed', claimed_by: POD_A, attempt: 1 });
      expect((await mustGet(store, stepId)).result).toBe('first');
    });

    it('rejects a stale fail and a stale release the same way', async () => {
      const { store, stepId } = await claimedByA();
      const before = await mustGet(store, stepId);
      const fail = await store.stepFail({ stepId, podId: POD_B, attempt: 1, error: 'nope', retryable: true, reason: 'error', now: T0 + 1 });
      expect(fail).toEqual({ applied: false, outcome: 'stale' });
      const failEvent = await expectRejected(store, before, 2);
      expect(failEvent).toMatchObject({ podId: POD_B, attempt: 1 });
      expect(failEvent.detail).toMatchObject({ write: 'fail', status: 'claimed', claimed_by: POD_A, attempt: 1 });

      const release = await store.stepRelease({ stepId, podId: POD_A, attempt: 7, now: T0 + 2 });
      expect(release).toEqual({ applied: false, outcome: 'stale' });
      const releaseEvent = await expectRejected(store, before, 3);
      expect(releaseEvent).toMatchObject({ podId: POD_A, attempt: 7 });
      expect(releaseEvent.detail).toMatchObject({ write: 'release', status: 'claimed', claimed_by: POD_A, attempt: 1 });
    });

    it('rejects a write for a step that does not exist, recording nulls for the row', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = 'step_0000000000GONEGONEGONE0000';
      expect(await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 1, now: T0 })).toEqual({ applied: false, outcome: 'stale' });
      expect(await store.stepGet({ stepId })).toBeNull();
      const events = await eventsOf(store, stepId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'stale_write_rejected', podId: POD_A, attempt: 1 });
      expect(events[0]!.detail).toMatchObject({ write: 'complete', status: null, claimed_by: null, attempt: null });
    });

    it(`accepts a result of exactly ${MAX_RESULT_BYTES} bytes serialised`, async () => {
      const { store, stepId } = await claimedByA();
      const result = 'r'.repeat(MAX_RESULT_BYTES - 2);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result, now: T0 + 1 })).applied).toBe(true);
      expect((await mustGet(store, stepId)).result).toBe(result);
    });

    it('refuses a larger result with ValidationError, writing nothing', async () => {
      const { store, stepId } = await claimedByA();
      const before = await mustGet(store, stepId);
      await expect(store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'r'.repeat(MAX_RESULT_BYTES - 1), now: T0 + 1 })).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await mustGet(store, stepId)).toEqual(before);
      expect(await kindsOf(store, stepId)).toEqual(['submitted', 'claimed']);
    });

    it('refuses a result holding U+0000 with ValidationError, writing nothing, alike on every store', async () => {
      const { store, stepId } = await claimedByA();
      const before = await mustGet(store, stepId);
      await expect(store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: { text: 'a\u0000b' }, now: T0 + 1 })).rejects.toBeInstanceOf(ValidationError);
      expect(await mustGet(store, stepId)).toEqual(before);
      expect((await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: { text: 'a\\u0000b' }, now: T0 + 1 })).applied).toBe(true);
    });
  });
}
