/**
 * Conformance: two store instances (two connections, as two pods have) on one database, racing.
 * Claims never hand a step to two pods; two sweepers at once recover each orphan exactly once.
 * Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedStepRow, Store } from '../../src/store/store.js';
import { POD_A, POD_B, POD_C, POLICY, T0, TYPE, allEvents, freshStores, mustGet, registerPod } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const STEPS = 120;

async function submitMany(store: Store, count: number): Promise<string[]> {
  const { results } = await store.stepSubmitBatch({
    steps: Array.from({ length: count }, (_, i) => ({ type: TYPE, args: { i }, priority: i % 3, maxRetries: 3, timeoutMs: 1_000 })),
    now: T0,
  });
  return results.map((r) => r.stepId);
}

/** Registers the two-connection race cases for `factory`. */
export function describeConcurrency(factory: StoreFactory): void {
  describe('two connections at once', () => {
    const open = freshStores(factory);

    it('never gives one step to two claimers; together they claim every step exactly once', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      await registerPod(store, POD_A);
      await registerPod(peer, POD_B);
      const ids = await submitMany(store, STEPS);
      const claims = new Map<string, string[]>();
      const record = (podId: string, rows: readonly ClaimedStepRow[]) => {
        for (const row of rows) claims.set(row.stepId, [...(claims.get(row.stepId) ?? []), podId]);
        return rows.length;
      };
      for (let round = 0; round < STEPS; round++) {
        const [a, b] = await Promise.all([
          store.stepClaim({ podId: POD_A, types: [TYPE], limit: 1 + (round % 4), now: T0 + round }),
          peer.stepClaim({ podId: POD_B, types: [TYPE], limit: 1 + ((round + 2) % 5), now: T0 + round }),
        ]);
        if (record(POD_A, a) + record(POD_B, b) === 0) break;
      }
      expect([...claims.keys()].sort()).toEqual([...ids].sort());
      expect([...claims.values()].filter((holders) => holders.length !== 1)).toEqual([]);
      expect(new Set([...claims.values()].map((holders) => holders[0])).size).toBe(2);
      const claimedEvents = (await allEvents(store)).filter((e) => e.kind === 'claimed');
      expect(claimedEvents).toHaveLength(STEPS);
      for (const event of claimedEvents) expect(event.podId).toBe(claims.get(event.stepId)![0]);
      expect(await store.queueStats({ now: T0 + STEPS })).toMatchObject({ pending: 0, claimed: STEPS });
    });

    it('two sweepers at once recover each orphan exactly once, with one event each', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0);
      await registerPod(store, POD_C, T0);
      const ids = await submitMany(store, 40);
      expect(await store.stepClaim({ podId: POD_C, types: [TYPE], limit: 40, now: T0 })).toHaveLength(40);
      const sweepAt = T0 + POLICY.deadPodThresholdMs;
      await store.podHeartbeat({ podId: POD_A, now: sweepAt - 1 });
      await store.podHeartbeat({ podId: POD_B, now: sweepAt - 1 });
      const [first, second] = await Promise.all([store.recoverySweep({ podId: POD_A, now: sweepAt }), peer.recoverySweep({ podId: POD_B, now: sweepAt })]);
      const requeued = [...first.requeued, ...second.requeued];
      expect(requeued.sort()).toEqual([...ids].sort());
      expect([...first.deadLettered, ...second.deadLettered]).toEqual([]);
      expect([...first.deadPods, ...second.deadPods]).toEqual([POD_C]);
      const recovered = (await allEvents(store)).filter((e) => e.kind === 'recovered');
      expect(recovered.map((e) => e.stepId).sort()).toEqual([...ids].sort());
      for (const event of recovered) expect(event.podId).toBe(first.requeued.includes(event.stepId) ? POD_A : POD_B);
      for (const stepId of ids) {
        expect(await mustGet(store, stepId)).toMatchObject({ status: 'pending', claimedBy: null, retryCount: 1 });
      }
    });
  });
}
