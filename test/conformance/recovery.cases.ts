/**
 * Conformance: the recovery sweep (DESIGN §3 Leader and recovery): claims of holders that are not live
 * are recovered with backoff or dead-lettered (reason `pod_dead`), pods up but not live are marked
 * down, a live pod's claims are never touched, dry runs write nothing, and the old holder's late
 * writes are stale. Concurrent sweepers are in concurrency.cases.ts. Must not depend on a driver's SQL.
 */
import { describe, expect, it } from 'vitest';
import type { RecoverySummary, Store } from '../../src/store/store.js';
import {
  POD_A,
  POD_B,
  POD_C,
  POLICY,
  T0,
  allEvents,
  claimOne,
  eventsOf,
  expectBackoff,
  freshStores,
  lastEvent,
  mustGet,
  registerPod,
  submit,
} from './fixtures.js';
import type { StoreFactory } from './stores.js';

const THRESHOLD = POLICY.deadPodThresholdMs;

/** The summary with its id lists sorted, for comparing sets. */
function sets(summary: RecoverySummary) {
  const sorted = (ids: readonly string[]) => [...ids].sort();
  return {
    dryRun: summary.dryRun,
    deadPods: sorted(summary.deadPods),
    orphanedSteps: sorted(summary.orphanedSteps),
    requeued: sorted(summary.requeued),
    deadLettered: sorted(summary.deadLettered),
  };
}

async function snapshot(store: Store, stepIds: readonly string[], now: number) {
  return {
    rows: await Promise.all(stepIds.map((stepId) => mustGet(store, stepId))),
    events: await allEvents(store),
    pods: await store.podList({ now }),
  };
}

/** Registers the recovery-sweep cases for `factory`. */
export function describeRecovery(factory: StoreFactory): void {
  describe('recovery sweep', () => {
    const open = freshStores(factory);

    /**
     * A (live) holds `live`; B (silent since T0) holds `orphan` (3 retries) and `lastChance` (0 retries);
     * C (marked down) holds `downHeld`; `idle` is pending. The sweep runs at T0 + threshold.
     */
    async function scenario() {
      const { store } = await open();
      for (const pod of [POD_A, POD_B, POD_C]) await registerPod(store, pod, T0);
      const live = await submit(store, { priority: 5 });
      const orphan = await submit(store, { priority: 4, maxRetries: 3 });
      const lastChance = await submit(store, { priority: 3, maxRetries: 0 });
      const downHeld = await submit(store, { priority: 2, maxRetries: 1 });
      const idle = await submit(store, { priority: 1 });
      await claimOne(store, POD_A, T0, live);
      await claimOne(store, POD_B, T0, orphan);
      await claimOne(store, POD_B, T0, lastChance);
      await claimOne(store, POD_C, T0, downHeld);
      await store.podMarkDown({ podId: POD_C, now: T0 + 1 });
      await store.podHeartbeat({ podId: POD_A, now: T0 + THRESHOLD - 1 });
      return { store, live, orphan, lastChance, downHeld, idle, all: [live, orphan, lastChance, downHeld, idle], sweepAt: T0 + THRESHOLD };
    }

    it('recovers or dead-letters the claims of dead and down holders, marks dead pods down, leaves live claims alone', async () => {
      const s = await scenario();
      const before = await snapshot(s.store, s.all, s.sweepAt);
      const summary = await s.store.recoverySweep({ podId: POD_A, now: s.sweepAt });
      expect(sets(summary)).toEqual({
        dryRun: false,
        deadPods: [POD_B],
        orphanedSteps: [s.orphan, s.lastChance, s.downHeld].sort(),
        requeued: [s.orphan, s.downHeld].sort(),
        deadLettered: [s.lastChance],
      });

      expect(await mustGet(s.store, s.live)).toEqual(before.rows[0]);
      expect(await mustGet(s.store, s.idle)).toEqual(before.rows[4]);

      const orphan = await mustGet(s.store, s.orphan);
      expect(orphan).toMatchObject({ status: 'pending', claimedBy: null, attempt: 1, retryCount: 1, lastUpdateTs: s.sweepAt });
      expect(orphan.lastError).toContain(POD_B);
      expectBackoff(orphan, s.sweepAt, 1);
      const recovered = await lastEvent(s.store, s.orphan);
      expect(recovered).toMatchObject({ kind: 'recovered', podId: POD_A, attempt: 1, ts: s.sweepAt });
      expect(recovered.detail).toMatchObject({ reason: 'pod_dead', error: orphan.lastError, retry_count: 1 });

      const lastChance = await mustGet(s.store, s.lastChance);
      expect(lastChance).toMatchObject({ status: 'failed', claimedBy: POD_B, attempt: 1, retryCount: 0 });
      expect(lastChance.lastError).toContain(POD_B);
      const deadLettered = await lastEvent(s.store, s.lastChance);
      expect(deadLettered).toMatchObject({ kind: 'dead_lettered', podId: POD_A, attempt: 1, ts: s.sweepAt });
      expect(deadLettered.detail).toMatchObject({ reason: 'pod_dead', error: lastChance.lastError, retry_count: 0 });

      const downHeld = await mustGet(s.store, s.downHeld);
      expect(downHeld).toMatchObject({ status: 'pending', claimedBy: null, retryCount: 1 });
      expect(downHeld.lastError).toContain(POD_C);

      const pods = await s.store.podList({ now: s.sweepAt });
      expect(pods.map((p) => [p.podId, p.status, p.live])).toEqual([
        [POD_A, 'up', true],
        [POD_B, 'down', false],
        [POD_C, 'down', false],
      ]);
      expect((await allEvents(s.store)).length).toBe(before.events.length + 3);
    });

    it('dry run reports the same sets and writes nothing', async () => {
      const s = await scenario();
      const before = await snapshot(s.store, s.all, s.sweepAt);
      const dry = await s.store.recoverySweep({ podId: POD_A, dryRun: true, now: s.sweepAt });
      expect(await snapshot(s.store, s.all, s.sweepAt)).toEqual(before);
      const real = await s.store.recoverySweep({ podId: POD_A, now: s.sweepAt });
      expect(sets(dry)).toEqual({ ...sets(real), dryRun: true });
      expect(sets(dry).orphanedSteps).toHaveLength(3);
    });

    it('finds nothing on a second sweep right after', async () => {
      const s = await scenario();
      await s.store.recoverySweep({ podId: POD_A, now: s.sweepAt });
      const eventsAfterFirst = await allEvents(s.store);
      const second = await s.store.recoverySweep({ podId: POD_A, now: s.sweepAt + 1 });
      expect(sets(second)).toEqual({ dryRun: false, deadPods: [], orphanedSteps: [], requeued: [], deadLettered: [] });
      expect(await allEvents(s.store)).toEqual(eventsAfterFirst);
    });

    it('judges liveness at the threshold exactly: one millisecond before it, the claim stays', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      const early = await store.recoverySweep({ now: T0 + THRESHOLD - 1 });
      expect(sets(early)).toEqual({ dryRun: false, deadPods: [], orphanedSteps: [], requeued: [], deadLettered: [] });
      expect((await mustGet(store, stepId)).status).toBe('claimed');
      const due = await store.recoverySweep({ now: T0 + THRESHOLD });
      expect(sets(due)).toEqual({ dryRun: false, deadPods: [POD_A], orphanedSteps: [stepId], requeued: [stepId], deadLettered: [] });
    });

    it('records a null pod_id when the sweeper is not named', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      await store.recoverySweep({ now: T0 + THRESHOLD });
      expect(await lastEvent(store, stepId)).toMatchObject({ kind: 'recovered', podId: null });
    });

    it('marks a silent pod without claims down, after which its heartbeat answers ok:false', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const summary = await store.recoverySweep({ now: T0 + THRESHOLD });
      expect(sets(summary).deadPods).toEqual([POD_A]);
      expect((await store.podHeartbeat({ podId: POD_A, now: T0 + THRESHOLD + 1 })).ok).toBe(false);
    });

    it('makes the dead holder’s late complete stale once another pod reclaimed the step', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0 + THRESHOLD);
      const stepId = await submit(store);
      await claimOne(store, POD_A, T0, stepId);
      await store.recoverySweep({ podId: POD_B, now: T0 + THRESHOLD });
      const { runAfter } = await mustGet(store, stepId);
      await claimOne(store, POD_B, runAfter, stepId);
      expect(await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'zombie', now: runAfter + 1 })).toEqual({ applied: false, outcome: 'stale' });
      const stale = await lastEvent(store, stepId);
      expect(stale).toMatchObject({ kind: 'stale_write_rejected', podId: POD_A, attempt: 1 });
      expect(stale.detail).toMatchObject({ write: 'complete', status: 'claimed', claimed_by: POD_B, attempt: 2 });
      expect((await store.stepComplete({ stepId, podId: POD_B, attempt: 2, result: 'real', now: runAfter + 2 })).applied).toBe(true);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'completed', claimedBy: POD_B, result: 'real', retryCount: 1 });
      expect((await eventsOf(store, stepId)).map((e) => e.kind)).toEqual(['submitted', 'claimed', 'recovered', 'claimed', 'stale_write_rejected', 'completed']);
    });
  });
}
