/**
 * Conformance: step control (issue 14) — an operator's cancel of a pending or claimed step, the
 * handler's fenced progress, and the look-up by which a holder learns of a cancel. Cancelled is
 * terminal: never claimed, recovered or replayed, and the holder's later writes are stale.
 * Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import { MAX_PROGRESS_BYTES } from '../../src/store/store.js';
import { POD_A, POD_B, POLICY, T0, claimAll, claimOne, freshStores, kindsOf, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the step-control cases for `factory`. */
export function describeStepControl(factory: StoreFactory): void {
  describe('step control: cancel and progress', () => {
    const open = freshStores(factory);

    it('cancels a pending step: terminal, audited, never claimed', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store);
      const result = await store.stepCancel({ stepId, now: T0 + 10 });
      expect(result.previousStatus).toBe('pending');
      expect(result.step).toEqual(await mustGet(store, stepId));
      expect(result.step).toMatchObject({ status: 'cancelled', claimedBy: null, attempt: 0, lastUpdateTs: T0 + 10 });
      expect(await lastEvent(store, stepId)).toMatchObject({ kind: 'cancelled', podId: null, attempt: 0, ts: T0 + 10, detail: { previous_status: 'pending' } });
      expect(await claimAll(store, POD_A, T0 + 60_000)).toEqual([]);
      expect(await store.queueStats({ now: T0 + 60_000 })).toMatchObject({ pending: 0, claimed: 0, cancelled: 1 });
    });

    it('cancels a claimed step: the holder learns of it, and its writes are rejected as stale', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store);
      const other = await submit(store);
      const claimed = await claimAll(store, POD_A, T0 + 1);
      expect(claimed.map((r) => r.stepId).sort()).toEqual([stepId, other].sort());
      const claim = claimed.find((r) => r.stepId === stepId)!;
      const ref = { stepId, podId: POD_A, attempt: claim.attempt };
      expect(await store.stepCancelledAmong({ podId: POD_A, stepIds: [stepId, other] })).toEqual([]);

      const result = await store.stepCancel({ stepId, now: T0 + 20 });
      expect(result.previousStatus).toBe('claimed');
      expect(result.step).toMatchObject({ status: 'cancelled', claimedBy: POD_A, attempt: 1 });
      expect(await lastEvent(store, stepId)).toMatchObject({
        kind: 'cancelled',
        podId: null,
        attempt: 1,
        detail: { previous_status: 'claimed', claimed_by: POD_A },
      });
      expect(await store.stepCancelledAmong({ podId: POD_A, stepIds: [stepId, other] })).toEqual([stepId]);
      expect(await store.stepCancelledAmong({ podId: POD_B, stepIds: [stepId, other] })).toEqual([]);
      expect(await store.stepCancelledAmong({ podId: POD_A, stepIds: [] })).toEqual([]);

      expect(await store.stepProgress({ ...ref, progress: { done: 5 }, now: T0 + 30 })).toEqual({ applied: false, status: 'cancelled' });
      expect(await store.stepComplete({ ...ref, result: 'late', now: T0 + 31 })).toEqual({ applied: false, outcome: 'stale' });
      expect(await store.stepFail({ ...ref, error: 'late', retryable: true, reason: 'error', now: T0 + 32 })).toEqual({ applied: false, outcome: 'stale' });
      expect(await store.stepRelease({ ...ref, now: T0 + 33 })).toEqual({ applied: false, outcome: 'stale' });
      const row = await mustGet(store, stepId);
      expect(row).toMatchObject({ status: 'cancelled', result: null, progress: null, lastUpdateTs: T0 + 20 });
      expect(await kindsOf(store, stepId)).toEqual([
        'submitted',
        'claimed',
        'cancelled',
        'stale_write_rejected',
        'stale_write_rejected',
        'stale_write_rejected',
        'stale_write_rejected',
      ]);
      const events = (await store.eventList({ stepId })).filter((e) => e.kind === 'stale_write_rejected');
      expect(events.map((e) => e.detail['write'])).toEqual(['progress', 'complete', 'fail', 'release']);
      expect(events.every((e) => e.podId === POD_A && e.detail['status'] === 'cancelled')).toBe(true);
    });

    it('refuses to cancel a terminal step (409) or an unknown one (404), changing nothing', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const done = await submit(store);
      const claim = await claimOne(store, POD_A, T0 + 1, done);
      await store.stepComplete({ stepId: done, podId: POD_A, attempt: claim.attempt, result: 1, now: T0 + 2 });
      const dead = await submit(store, { maxRetries: 0 });
      const deadClaim = await claimOne(store, POD_A, T0 + 3, dead);
      await store.stepFail({ stepId: dead, podId: POD_A, attempt: deadClaim.attempt, error: 'x', retryable: true, reason: 'error', now: T0 + 4 });
      const cancelled = await submit(store);
      await store.stepCancel({ stepId: cancelled, now: T0 + 5 });

      for (const stepId of [done, dead, cancelled]) {
        const before = await mustGet(store, stepId);
        const kinds = await kindsOf(store, stepId);
        await expect(store.stepCancel({ stepId, now: T0 + 10 })).rejects.toBeInstanceOf(ConflictError);
        expect(await mustGet(store, stepId)).toEqual(before);
        expect(await kindsOf(store, stepId)).toEqual(kinds);
      }
      await expect(store.stepCancel({ stepId: 'step_unknown', now: T0 + 10 })).rejects.toBeInstanceOf(NotFoundError);
      // Replay is for the DLQ only: a cancelled step stays cancelled.
      await expect(store.stepReplay({ stepId: cancelled, now: T0 + 11 })).rejects.toBeInstanceOf(ConflictError);
      expect((await mustGet(store, cancelled)).status).toBe('cancelled');
    });

    it('stores progress only under the current claim, leaving status and last_update_ts alone', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B);
      const stepId = await submit(store);
      const claim = await claimOne(store, POD_A, T0 + 1, stepId);
      const ref = { stepId, podId: POD_A, attempt: claim.attempt };
      expect(await store.stepProgress({ ...ref, progress: { done: 3, of: 10 }, now: T0 + 2 })).toEqual({ applied: true });
      expect(await store.stepProgress({ ...ref, progress: { done: 4, of: 10 }, now: T0 + 3 })).toEqual({ applied: true });
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'claimed', progress: { done: 4, of: 10 }, lastUpdateTs: T0 + 1 });
      expect(await kindsOf(store, stepId)).toEqual(['submitted', 'claimed']);

      // Another pod, or an old attempt, is stale and changes nothing.
      expect(await store.stepProgress({ ...ref, podId: POD_B, progress: 'b', now: T0 + 4 })).toEqual({ applied: false, status: 'claimed' });
      expect(await store.stepProgress({ ...ref, attempt: 0, progress: 'old', now: T0 + 5 })).toEqual({ applied: false, status: 'claimed' });
      expect(await store.stepProgress({ stepId: 'step_unknown', podId: POD_A, attempt: 1, progress: 1, now: T0 + 5 })).toEqual({
        applied: false,
        status: null,
      });
      expect((await mustGet(store, stepId)).progress).toEqual({ done: 4, of: 10 });
      expect((await lastEvent(store, stepId)).detail).toMatchObject({ write: 'progress', status: 'claimed', claimed_by: POD_A });

      // Too large or U+0000: refused as bad input, nothing written.
      await expect(store.stepProgress({ ...ref, progress: 'x'.repeat(MAX_PROGRESS_BYTES + 1) })).rejects.toBeInstanceOf(ValidationError);
      await expect(store.stepProgress({ ...ref, progress: 'a\u0000b' })).rejects.toBeInstanceOf(ValidationError);
      expect((await mustGet(store, stepId)).progress).toEqual({ done: 4, of: 10 });

      // The completed row keeps its last progress; after completion progress is stale.
      await store.stepComplete({ ...ref, result: 'ok', now: T0 + 6 });
      expect(await store.stepProgress({ ...ref, progress: 'after', now: T0 + 7 })).toEqual({ applied: false, status: 'completed' });
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'completed', progress: { done: 4, of: 10 } });
    });

    it('never recovers a cancelled step whose holder died', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B, T0 + POLICY.deadPodThresholdMs);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0 + 1, stepId);
      await store.stepCancel({ stepId, now: T0 + 2 });
      const later = T0 + 2 * POLICY.deadPodThresholdMs;
      await store.podHeartbeat({ podId: POD_B, now: later - 1 });
      const summary = await store.recoverySweep({ podId: POD_B, now: later });
      expect(summary.deadPods).toContain(POD_A);
      expect(summary.orphanedSteps).not.toContain(stepId);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'cancelled', claimedBy: POD_A });
      expect(await claimAll(store, POD_B, later + 1)).toEqual([]);
      expect(await kindsOf(store, stepId)).toEqual(['submitted', 'claimed', 'cancelled']);
    });
  });
}
