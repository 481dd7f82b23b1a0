/**
 * Conformance: a pod that fenced itself registers again under a new pod id and retires its previous
 * incarnation in the same `podRegister` call (`previousPodId`): that row goes `down` only while it is
 * still `up` under the same name, is never leader again, and its claims are recovered by the next
 * sweep without waiting for its heartbeat to age out. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, POD_B, T0, claimOne, freshStores, lastEvent, mustGet, podMeta, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** The second incarnation of POD_A's process (same name, `alpha`). */
const POD_A2 = 'alpha-000000a2';

/** Registers the re-registration cases for `factory`. */
export function describeReincarnation(factory: StoreFactory): void {
  describe('re-registration after fencing', () => {
    const open = freshStores(factory);

    it('marks the previous incarnation down in the same call, and only it', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0);
      const row = await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_A, now: T0 + 10 });
      expect(row).toMatchObject({ podId: POD_A2, status: 'up', live: true, birthTs: T0 + 10 });
      const pods = await store.podList({ now: T0 + 11 });
      expect(pods.map((p) => [p.podId, p.status, p.lastHeartbeatTs])).toEqual([
        [POD_A, 'down', T0],
        [POD_B, 'up', T0],
        [POD_A2, 'up', T0 + 10],
      ]);
      // The abandoned incarnation cannot revive itself by a late heartbeat.
      expect((await store.podHeartbeat({ podId: POD_A, now: T0 + 12 })).ok).toBe(false);
    });

    it('never elects the abandoned incarnation, though it is the eldest and its heartbeat is fresh', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0 + 1);
      expect((await store.leaderGet({ now: T0 + 2 })).leader?.podId).toBe(POD_A);
      await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_A, now: T0 + 3 });
      const info = await store.leaderGet({ now: T0 + 4 });
      expect(info.leader?.podId).toBe(POD_B);
      expect(info.livePods.map((p) => p.podId)).toEqual([POD_B, POD_A2]);
    });

    it('lets the next sweep recover its claims at once, long before its heartbeat ages out', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0);
      const stepId = await submit(store, { maxRetries: 3 });
      await claimOne(store, POD_A, T0 + 1, stepId);
      await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_A, now: T0 + 2 });
      const summary = await store.recoverySweep({ podId: POD_B, now: T0 + 3 });
      expect(summary.requeued).toEqual([stepId]);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'pending', retryCount: 1, claimedBy: null });
      expect((await lastEvent(store, stepId)).kind).toBe('recovered');
    });

    it('leaves a previous row that is already down exactly as it is', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await store.podMarkDown({ podId: POD_A, now: T0 + 1 });
      const before = await store.podList({ now: T0 + 2 });
      await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_A, now: T0 + 3 });
      const after = await store.podList({ now: T0 + 2 });
      expect(after.filter((p) => p.podId === POD_A)).toEqual(before);
    });

    it('never touches another pod’s row, creates no row for an unknown id, and ignores its own id', async () => {
      const { store } = await open();
      await registerPod(store, POD_B, T0);
      // POD_B has another name (bravo): it is not this pod's previous incarnation, whatever the caller says.
      await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_B, now: T0 + 1 });
      await store.podRegister({ podId: 'alpha-000000a3', name: 'alpha', meta: podMeta(), previousPodId: 'alpha-0000dead', now: T0 + 2 });
      const again = await store.podRegister({ podId: POD_A2, name: 'alpha', meta: podMeta(), previousPodId: POD_A2, now: T0 + 3 });
      expect(again).toMatchObject({ podId: POD_A2, status: 'up', live: true });
      const pods = await store.podList({ now: T0 + 4 });
      expect(pods.map((p) => [p.podId, p.status])).toEqual([
        [POD_B, 'up'],
        ['alpha-000000a3', 'up'],
        [POD_A2, 'up'],
      ]);
    });
  });
}
