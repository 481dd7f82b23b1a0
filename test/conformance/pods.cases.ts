/**
 * Conformance: pod registration, heartbeats, liveness by DB time and status, and the leader
 * (DESIGN §2 pod_health, §3 Heartbeat, Leader). Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { POD_A, POD_B, POD_C, POLICY, T0, freshStores, podMeta, registerPod } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const THRESHOLD = POLICY.deadPodThresholdMs;

/** Registers the pod, liveness and leader cases for `factory`. */
export function describePods(factory: StoreFactory): void {
  describe('pods and liveness', () => {
    const open = freshStores(factory);

    it('registers a pod up, born and beating now, with its meta', async () => {
      const { store } = await open();
      const row = await store.podRegister({ podId: POD_A, name: 'alpha', meta: podMeta(8, 2), now: T0 });
      expect(row).toEqual({ podId: POD_A, name: 'alpha', birthTs: T0, lastHeartbeatTs: T0, status: 'up', meta: podMeta(8, 2), live: true });
      expect(await store.podList({ now: T0 })).toEqual([row]);
    });

    it('is live while now − last_heartbeat_ts < threshold, and not from the threshold on', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      expect((await store.podList({ now: T0 + THRESHOLD - 1 }))[0]!.live).toBe(true);
      const dead = (await store.podList({ now: T0 + THRESHOLD }))[0]!;
      expect(dead).toMatchObject({ podId: POD_A, status: 'up', live: false });
    });

    it('heartbeats move last_heartbeat_ts and meta, keeping the pod live', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const beat = await store.podHeartbeat({ podId: POD_A, meta: podMeta(4, 3), now: T0 + THRESHOLD - 10 });
      expect(beat).toEqual({ ok: true, ts: T0 + THRESHOLD - 10 });
      const [row] = await store.podList({ now: T0 + THRESHOLD + 10 });
      expect(row).toMatchObject({ birthTs: T0, lastHeartbeatTs: T0 + THRESHOLD - 10, live: true, meta: podMeta(4, 3) });
    });

    it('answers ok:false for an unknown pod and creates no row', async () => {
      const { store } = await open();
      expect((await store.podHeartbeat({ podId: POD_A, now: T0 })).ok).toBe(false);
      expect(await store.podList({ now: T0 })).toEqual([]);
    });

    it('marks a pod down: not live, and its heartbeats answer ok:false and write nothing', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await store.podMarkDown({ podId: POD_A, now: T0 + 5 });
      const [down] = await store.podList({ now: T0 + 6 });
      expect(down).toMatchObject({ status: 'down', live: false, lastHeartbeatTs: T0 });
      expect((await store.podHeartbeat({ podId: POD_A, meta: podMeta(1), now: T0 + 10 })).ok).toBe(false);
      expect(await store.podList({ now: T0 + 6 })).toEqual([down]);
    });

    it('revives a down pod on register, born again now', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await store.podMarkDown({ podId: POD_A, now: T0 + 5 });
      const revived = await registerPod(store, POD_A, T0 + 1_000);
      expect(revived).toMatchObject({ status: 'up', live: true, birthTs: T0 + 1_000, lastHeartbeatTs: T0 + 1_000 });
      expect((await store.podHeartbeat({ podId: POD_A, now: T0 + 2_000 })).ok).toBe(true);
    });

    it('lists pods ordered by (birth_ts, pod_id)', async () => {
      const { store } = await open();
      await registerPod(store, POD_C, T0);
      await registerPod(store, POD_B, T0 + 1);
      await registerPod(store, POD_A, T0 + 1);
      expect((await store.podList({ now: T0 + 2 })).map((p) => p.podId)).toEqual([POD_C, POD_A, POD_B]);
    });
  });

  describe('leader', () => {
    const open = freshStores(factory);

    it('is the live pod with the smallest (birth_ts, pod_id), pod_id breaking ties', async () => {
      const { store } = await open();
      await registerPod(store, POD_C, T0 + 1);
      await registerPod(store, POD_B, T0);
      await registerPod(store, POD_A, T0);
      const info = await store.leaderGet({ now: T0 + 2 });
      expect(info.leader?.podId).toBe(POD_A);
      expect(info.livePods.map((p) => p.podId)).toEqual([POD_A, POD_B, POD_C]);
      expect(info.checkedAt).toBe(T0 + 2);
    });

    it('moves to the next pod when the leader stops beating, and back to none when all are dead', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0 + 1);
      await store.podHeartbeat({ podId: POD_B, now: T0 + THRESHOLD - 1 });
      expect((await store.leaderGet({ now: T0 + THRESHOLD - 1 })).leader?.podId).toBe(POD_A);
      const after = await store.leaderGet({ now: T0 + THRESHOLD });
      expect(after.leader?.podId).toBe(POD_B);
      expect(after.livePods.map((p) => p.podId)).toEqual([POD_B]);
      const none = await store.leaderGet({ now: T0 + 2 * THRESHOLD });
      expect(none.leader).toBeNull();
      expect(none.livePods).toEqual([]);
    });

    it('skips a pod marked down even while its heartbeat is fresh', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0 + 1);
      await store.podMarkDown({ podId: POD_A, now: T0 + 2 });
      expect((await store.leaderGet({ now: T0 + 3 })).leader?.podId).toBe(POD_B);
    });

    it('prefers an older pod over a newer one with a smaller id', async () => {
      const { store } = await open();
      await registerPod(store, POD_C, T0);
      await registerPod(store, POD_A, T0 + 1);
      expect((await store.leaderGet({ now: T0 + 2 })).leader?.podId).toBe(POD_C);
    });
  });
}
