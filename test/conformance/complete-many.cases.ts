/**
 * Conformance: `stepCompleteMany`, the batched completion the runtime uses when many steps finish
 * together. Each item must end exactly as `stepComplete` alone would (fence, clock, outcome, stale
 * event with the row's current values), a step named twice is judged in order, results come in input
 * order as outcomes only (no rows: the runtime reads none), and a bad result refuses the whole call,
 * writing nothing. Must not depend on a driver's SQL.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { MAX_RESULT_BYTES } from '../../src/store/json.js';
import type { StepCompleteParams } from '../../src/store/store.js';
import { POD_A, POD_B, T0, allEvents, claimAll, eventsOf, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the batched-completion cases for `factory`. */
export function describeCompleteMany(factory: StoreFactory): void {
  describe('stepCompleteMany', () => {
    const open = freshStores(factory);

    it('completes each held claim, rejects each stale one with its own event, judges a repeated step in order', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await submit(store, { now: T0 + i }));
      expect(await claimAll(store, POD_A, T0 + 10)).toHaveLength(5);
      const items: StepCompleteParams[] = [
        { stepId: ids[0]!, podId: POD_A, attempt: 1, result: { n: 0 }, now: T0 + 100 },
        { stepId: ids[1]!, podId: POD_B, attempt: 1, result: { n: 1 }, now: T0 + 101 }, // not the holder
        { stepId: ids[2]!, podId: POD_A, attempt: 1, result: [2], now: T0 + 102 },
        { stepId: ids[2]!, podId: POD_A, attempt: 1, result: [22], now: T0 + 103 }, // the same claim again
        { stepId: ids[3]!, podId: POD_A, attempt: 7, result: null, now: T0 + 104 }, // wrong attempt
        { stepId: 'step_0000000000NOSUCHSTEP000000', podId: POD_A, attempt: 1, result: 1, now: T0 + 105 },
      ];
      const outcomes = await store.stepCompleteMany({ items });
      expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'stale', 'completed', 'stale', 'stale', 'stale']);
      expect(outcomes).toEqual([
        { applied: true, outcome: 'completed' },
        { applied: false, outcome: 'stale' },
        { applied: true, outcome: 'completed' },
        { applied: false, outcome: 'stale' },
        { applied: false, outcome: 'stale' },
        { applied: false, outcome: 'stale' },
      ]);
      expect(await mustGet(store, ids[0]!)).toMatchObject({ status: 'completed', result: { n: 0 }, lastUpdateTs: T0 + 100 });
      expect(await mustGet(store, ids[2]!)).toMatchObject({ status: 'completed', result: [2], lastUpdateTs: T0 + 102 });
      for (const held of [ids[1]!, ids[3]!, ids[4]!]) expect(await mustGet(store, held)).toMatchObject({ status: 'claimed', claimedBy: POD_A, result: null });
      const tail = async (stepId: string) => (await eventsOf(store, stepId)).slice(2);
      expect(await tail(ids[1]!)).toMatchObject([
        {
          kind: 'stale_write_rejected',
          podId: POD_B,
          attempt: 1,
          ts: T0 + 101,
          detail: { write: 'complete', status: 'claimed', claimed_by: POD_A, attempt: 1 },
        },
      ]);
      expect(await tail(ids[2]!)).toMatchObject([
        { kind: 'completed', podId: POD_A, attempt: 1, ts: T0 + 102 },
        { kind: 'stale_write_rejected', podId: POD_A, attempt: 1, ts: T0 + 103, detail: { write: 'complete', status: 'completed' } },
      ]);
      expect(await tail(ids[3]!)).toMatchObject([{ kind: 'stale_write_rejected', attempt: 7, detail: { status: 'claimed', attempt: 1 } }]);
      expect(await eventsOf(store, 'step_0000000000NOSUCHSTEP000000')).toMatchObject([
        { kind: 'stale_write_rejected', detail: { write: 'complete', status: null, claimed_by: null, attempt: null } },
      ]);
      expect(await tail(ids[4]!)).toEqual([]);
    });

    it('completes distinct steps with their own clocks and results, events in item order, a stale one among them judged alone', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await submit(store, { now: T0 + i }));
      expect(await claimAll(store, POD_A, T0 + 10)).toHaveLength(4);
      const held = (i: number, result: StepCompleteParams['result']): StepCompleteParams => ({
        stepId: ids[i]!,
        podId: POD_A,
        attempt: 1,
        result,
        now: T0 + 200 - i,
      });
      const allHeld = await store.stepCompleteMany({ items: [held(1, { a: 'x"y' }), held(0, null)] });
      expect(allHeld).toEqual([
        { applied: true, outcome: 'completed' },
        { applied: true, outcome: 'completed' },
      ]);
      expect(await mustGet(store, ids[1]!)).toMatchObject({ status: 'completed', result: { a: 'x"y' }, lastUpdateTs: T0 + 199 });
      expect(await mustGet(store, ids[0]!)).toMatchObject({ status: 'completed', result: null, lastUpdateTs: T0 + 200 });
      const before = (await allEvents(store)).length;
      const mixed = await store.stepCompleteMany({ items: [held(3, 3), { ...held(2, 2), attempt: 2 }, held(0, 0)] });
      expect(mixed).toEqual([
        { applied: true, outcome: 'completed' },
        { applied: false, outcome: 'stale' },
        { applied: false, outcome: 'stale' },
      ]);
      expect(await mustGet(store, ids[3]!)).toMatchObject({ status: 'completed', result: 3, lastUpdateTs: T0 + 197 });
      expect(await mustGet(store, ids[2]!)).toMatchObject({ status: 'claimed', result: null });
      const added = (await allEvents(store)).slice(before);
      expect(added).toHaveLength(3);
      const of = (stepId: string) => added.filter((e) => e.stepId === stepId);
      expect(of(ids[3]!)).toMatchObject([{ kind: 'completed', podId: POD_A, attempt: 1, ts: T0 + 197, detail: {} }]);
      expect(of(ids[2]!)).toMatchObject([
        { kind: 'stale_write_rejected', attempt: 2, ts: T0 + 198, detail: { write: 'complete', status: 'claimed', attempt: 1 } },
      ]);
      expect(of(ids[0]!)).toMatchObject([{ kind: 'stale_write_rejected', attempt: 1, ts: T0 + 200, detail: { write: 'complete', status: 'completed' } }]);
    });

    it('answers an empty batch with nothing and writes nothing', async () => {
      const { store } = await open();
      expect(await store.stepCompleteMany({ items: [] })).toEqual([]);
      expect(await allEvents(store)).toEqual([]);
    });

    it('refuses a batch holding one oversized result with ValidationError, completing none of it', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const a = await submit(store, { now: T0 });
      const b = await submit(store, { now: T0 + 1 });
      await claimAll(store, POD_A, T0 + 2);
      const before = (await allEvents(store)).length;
      const items: StepCompleteParams[] = [
        { stepId: a, podId: POD_A, attempt: 1, result: 'fine', now: T0 + 3 },
        { stepId: b, podId: POD_A, attempt: 1, result: 'x'.repeat(MAX_RESULT_BYTES), now: T0 + 3 },
      ];
      await expect(store.stepCompleteMany({ items })).rejects.toBeInstanceOf(ValidationError);
      expect((await mustGet(store, a)).status).toBe('claimed');
      expect((await mustGet(store, b)).status).toBe('claimed');
      expect(await allEvents(store)).toHaveLength(before);
    });
  });
}
