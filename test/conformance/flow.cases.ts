/**
 * Conformance: fleet-wide flow control and deadlines. A claim given `limits` never leaves more than
 * `concurrency` steps of a type claimed, nor more than `rateLimit.max` starts of a type in any
 * window of `intervalMs`, across every store instance (pod) of the database; other types are claimed
 * as usual in the same call. Within a priority, claims take the earliest deadline first (none last);
 * `queueAge` counts pending steps past their deadline. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { TypeFlowLimit } from '../../src/store/store.js';
import { POD_A, POD_B, T0, freshStores, kindsOf, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const LIMITED = 'limited';

function claim(store: import('../../src/store/store.js').Store, podId: string, now: number, limits: readonly TypeFlowLimit[], types = [LIMITED, 'echo']) {
  return store.stepClaim({ podId, types, limit: 100, now, limits });
}

/** Registers the flow-control and deadline cases for `factory`. */
export function describeFlow(factory: StoreFactory): void {
  describe('flow control and deadlines', () => {
    const open = freshStores(factory);

    it('within a priority claims the earliest deadline first and steps without one last; priority still comes first', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const none = await submit(store, { now: T0 });
      const late = await submit(store, { now: T0 + 1, deadline: T0 + 90_000 });
      const soon = await submit(store, { now: T0 + 2, deadline: T0 + 30_000 });
      const urgent = await submit(store, { now: T0 + 3, priority: 1 });
      const delayedSoonest = await submit(store, { now: T0 + 4, deadline: T0 + 10_000, delayMs: 5 });
      expect((await mustGet(store, soon)).deadline).toBe(T0 + 30_000);
      expect((await mustGet(store, none)).deadline).toBeNull();
      const first = await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 2, now: T0 + 100 });
      expect(first.map((r) => r.stepId)).toEqual([urgent, delayedSoonest]);
      const rest = await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 10, now: T0 + 100 });
      expect(rest.map((r) => r.stepId)).toEqual([soon, late, none]);
      expect(rest.map((r) => r.deadline)).toEqual([T0 + 30_000, T0 + 90_000, null]);
    });

    it('keeps deadlines of a batch and refuses a deadline that is not a time, writing nothing', async () => {
      const { store } = await open();
      const { results } = await store.stepSubmitBatch({
        now: T0,
        steps: [
          { type: 'echo', args: { i: 0 }, maxRetries: 0, timeoutMs: 1_000, deadline: T0 + 5_000 },
          { type: 'echo', args: { i: 1 }, maxRetries: 0, timeoutMs: 1_000 },
        ],
      });
      expect((await mustGet(store, results[0]!.stepId)).deadline).toBe(T0 + 5_000);
      expect((await mustGet(store, results[1]!.stepId)).deadline).toBeNull();
      await expect(store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000, deadline: Number.NaN, now: T0 })).rejects.toBeInstanceOf(
        ValidationError,
      );
      // Before 1970 by more than the largest time zone offset (a time written in 1970 may lie 14 h before it).
      await expect(store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000, deadline: -15 * 3_600_000, now: T0 })).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await store.stepList({ limit: 10, offset: 0 })).toHaveLength(2);
    });

    it('counts pending steps past their deadline, delayed ones too, but not claimed or finished ones', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      await submit(store, { now: T0, deadline: T0 + 1_000, priority: 5 }); // claimed below
      await submit(store, { now: T0, deadline: T0 + 1_000 });
      await submit(store, { now: T0, deadline: T0 + 1_000, delayMs: 60_000 });
      await submit(store, { now: T0, deadline: T0 + 9_000 });
      await submit(store, { now: T0 });
      await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 1, now: T0 + 10 });
      expect((await store.queueAge({ now: T0 + 500 })).pastDeadline).toBe(0);
      expect((await store.queueAge({ now: T0 + 2_000 })).pastDeadline).toBe(2);
      expect((await store.queueAge({ now: T0 + 10_000 })).pastDeadline).toBe(3);
    });

    it('never claims more than the concurrency limit of a type, across pods, and fills the rest with other types', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0);
      for (let i = 0; i < 5; i++) await submit(store, { type: LIMITED, now: T0 + i });
      for (let i = 0; i < 3; i++) await submit(store, { type: 'echo', now: T0 + 10 + i });
      const limits = [{ type: LIMITED, concurrency: 2 }];
      const a = await claim(store, POD_A, T0 + 100, limits);
      expect(a.filter((r) => r.type === LIMITED)).toHaveLength(2);
      expect(a.filter((r) => r.type === 'echo')).toHaveLength(3);
      expect(await claim(peer, POD_B, T0 + 200, limits)).toEqual([]);
      const done = a.find((r) => r.type === LIMITED)!;
      await store.stepComplete({ stepId: done.stepId, podId: POD_A, attempt: 1, result: null, now: T0 + 300 });
      const b = await claim(peer, POD_B, T0 + 400, limits);
      expect(b.map((r) => r.type)).toEqual([LIMITED]);
      expect(await kindsOf(store, b[0]!.stepId)).toEqual(['submitted', 'claimed']);
      expect(await claim(store, POD_A, T0 + 500, limits)).toEqual([]);
      // Without limits the same claim is unrestricted: limits are the claimer's to pass.
      expect(await store.stepClaim({ podId: POD_A, types: [LIMITED], limit: 100, now: T0 + 600 })).toHaveLength(2);
    });

    it('never starts more than rateLimit.max steps of a type in any window of intervalMs', async () => {
      const { store, openPeer } = await open();
      const peer = await openPeer();
      await registerPod(store, POD_A, T0);
      await registerPod(store, POD_B, T0);
      for (let i = 0; i < 6; i++) await submit(store, { type: LIMITED, now: T0 + i });
      const limits = [{ type: LIMITED, rateLimit: { max: 2, intervalMs: 1_000 } }];
      const first = await claim(store, POD_A, T0 + 100, limits);
      expect(first).toHaveLength(2);
      for (const r of first) await store.stepComplete({ stepId: r.stepId, podId: POD_A, attempt: 1, result: null, now: T0 + 150 });
      expect(await claim(peer, POD_B, T0 + 600, limits)).toEqual([]); // finished, but started inside the window
      expect(await claim(peer, POD_B, T0 + 1_099, limits)).toEqual([]);
      const second = await claim(peer, POD_B, T0 + 1_100, limits);
      expect(second).toHaveLength(2);
      expect(await claim(store, POD_A, T0 + 1_500, limits)).toEqual([]);
    });

    it('applies both limits at once: the tighter one decides', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      for (let i = 0; i < 6; i++) await submit(store, { type: LIMITED, now: T0 + i });
      const limits = [{ type: LIMITED, concurrency: 3, rateLimit: { max: 4, intervalMs: 10_000 } }];
      const first = await claim(store, POD_A, T0 + 100, limits);
      expect(first).toHaveLength(3);
      for (const r of first) await store.stepComplete({ stepId: r.stepId, podId: POD_A, attempt: 1, result: null, now: T0 + 200 });
      expect(await claim(store, POD_A, T0 + 300, limits)).toHaveLength(1); // 4 starts in the window
      expect(await claim(store, POD_A, T0 + 10_101, limits)).toHaveLength(2);
    });

    it('does not start a released step again while its last start is still inside the rate window', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const id = await submit(store, { type: LIMITED, now: T0 });
      const limits = [{ type: LIMITED, rateLimit: { max: 5, intervalMs: 1_000 } }];
      expect(await claim(store, POD_A, T0 + 100, limits)).toHaveLength(1);
      const released = await store.stepRelease({ stepId: id, podId: POD_A, attempt: 1, now: T0 + 200 });
      expect(released.outcome).toBe('released');
      expect(await claim(store, POD_A, T0 + 300, limits)).toEqual([]);
      const again = await claim(store, POD_A, T0 + 1_100, limits);
      expect(again.map((r) => [r.stepId, r.attempt])).toEqual([[id, 2]]);
    });

    it('takes a limited type in claim order and within the pod limit', async () => {
      const { store } = await open();
      await registerPod(store, POD_A, T0);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await submit(store, { type: LIMITED, now: T0 + i, deadline: T0 + 100_000 - i }));
      const limits = [{ type: LIMITED, concurrency: 3 }];
      const got = await store.stepClaim({ podId: POD_A, types: [LIMITED], limit: 2, now: T0 + 100, limits });
      expect(got.map((r) => r.stepId)).toEqual([ids[3], ids[2]]);
      const next = await store.stepClaim({ podId: POD_A, types: [LIMITED], limit: 5, now: T0 + 100, limits });
      expect(next.map((r) => r.stepId)).toEqual([ids[1]]);
    });
  });
}
