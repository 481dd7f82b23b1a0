/**
 * Conformance: completions requested together (as a busy pod makes them, all in one event-loop turn)
 * must each end exactly as if made alone, whatever the store does to write them together: fenced one
 * by one, stale ones rejected with their own event and the row's current values, each at its own
 * clock, a repeated completion of one step seen as stale after the first. Runs against every store
 * of the registry; must not depend on a driver's SQL or on how (or whether) it batches.
 */
import { describe, expect, it } from 'vitest';
import type { StepCompleteParams } from '../../src/store/store.js';
import { POD_A, POD_B, T0, claimAll, eventsOf, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import { STORE_FACTORIES, requiredStores, type StoreFactory } from './stores.js';

function describeCoalescedCompletions(factory: StoreFactory): void {
  const open = freshStores(factory);

  it('applies each fenced completion of one turn on its own and rejects the stale ones with their own events', async () => {
    const { store } = await open();
    await registerPod(store, POD_A);
    await registerPod(store, POD_B);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(store, { now: T0 + i }));
    expect((await claimAll(store, POD_A, T0 + 10)).map((r) => r.stepId)).toEqual(ids);

    const writes: StepCompleteParams[] = [
      { stepId: ids[0]!, podId: POD_A, attempt: 1, result: { n: 0 }, now: T0 + 100 },
      { stepId: ids[1]!, podId: POD_A, attempt: 1, result: { n: 1 }, now: T0 + 101 },
      { stepId: ids[2]!, podId: POD_A, attempt: 2, result: { n: 2 }, now: T0 + 102 }, // wrong attempt
      { stepId: ids[3]!, podId: POD_B, attempt: 1, result: { n: 3 }, now: T0 + 103 }, // not the holder
      { stepId: ids[4]!, podId: POD_A, attempt: 1, result: { n: 4 }, now: T0 + 104 },
      { stepId: ids[4]!, podId: POD_A, attempt: 1, result: { n: 44 }, now: T0 + 105 }, // the same claim again
      { stepId: ids[5]!, podId: POD_A, attempt: 1, result: null, now: T0 + 106 },
    ];
    const outcomes = await Promise.all(writes.map((w) => store.stepComplete(w)));
    expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'completed', 'stale', 'stale', 'completed', 'stale', 'completed']);

    for (const [i, w] of writes.entries()) {
      const outcome = outcomes[i]!;
      if (!outcome.applied) continue;
      expect(outcome.step).toEqual(await mustGet(store, w.stepId));
      expect(outcome.step).toMatchObject({ status: 'completed', claimedBy: POD_A, attempt: 1, result: w.result, lastUpdateTs: w.now });
    }
    for (const stale of [ids[2]!, ids[3]!]) {
      expect(await mustGet(store, stale)).toMatchObject({ status: 'claimed', claimedBy: POD_A, attempt: 1, result: null });
    }
    expect((await mustGet(store, ids[4]!)).result).toEqual({ n: 4 });

    const tail = async (stepId: string) => (await eventsOf(store, stepId)).slice(2);
    expect(await tail(ids[0]!)).toMatchObject([{ kind: 'completed', podId: POD_A, attempt: 1, ts: T0 + 100 }]);
    expect(await tail(ids[2]!)).toMatchObject([
      { kind: 'stale_write_rejected', podId: POD_A, attempt: 2, ts: T0 + 102, detail: { write: 'complete', status: 'claimed', claimed_by: POD_A, attempt: 1 } },
    ]);
    expect(await tail(ids[3]!)).toMatchObject([
      { kind: 'stale_write_rejected', podId: POD_B, attempt: 1, ts: T0 + 103, detail: { write: 'complete', status: 'claimed', claimed_by: POD_A, attempt: 1 } },
    ]);
    expect(await tail(ids[4]!)).toMatchObject([
      { kind: 'completed', podId: POD_A, attempt: 1, ts: T0 + 104 },
      {
        kind: 'stale_write_rejected',
        podId: POD_A,
        attempt: 1,
        ts: T0 + 105,
        detail: { write: 'complete', status: 'completed', claimed_by: POD_A, attempt: 1 },
      },
    ]);
  });

  it('answers every caller when many completions arrive at once', async () => {
    const { store } = await open();
    await registerPod(store, POD_A, T0, 200);
    for (let i = 0; i < 150; i++) await submit(store, { now: T0 });
    const claimed = await claimAll(store, POD_A, T0 + 1);
    expect(claimed).toHaveLength(150);
    const outcomes = await Promise.all(claimed.map((r, i) => store.stepComplete({ stepId: r.stepId, podId: POD_A, attempt: 1, result: i, now: T0 + 2 })));
    expect(outcomes.every((o) => o.applied)).toBe(true);
    expect(outcomes.map((o) => (o.applied ? o.step.result : undefined))).toEqual(claimed.map((_, i) => i));
    expect((await store.queueStats({ now: T0 + 3 })).completed).toBe(150);
  });
}

const required = requiredStores();
for (const factory of STORE_FACTORIES) {
  const availability = await factory.available();
  // The slow store's longer case timeout, as the main suite gives it: 150 single submits on the
  // emulator took 5 s alone and over 30 s on a loaded machine.
  if (availability === true)
    describe(`${factory.name} coalesced completions`, factory.testTimeoutMs === undefined ? {} : { timeout: factory.testTimeoutMs }, () =>
      describeCoalescedCompletions(factory),
    );
  else if (required.has(factory.name)) {
    describe(factory.name, () => {
      it('is available (required by FLEET_Q_REQUIRE_STORES)', () => {
        throw new Error(`store "${factory.name}" is required but not available: ${String(availability)}`);
      });
    });
  } else describe.skipIf(true)(`${factory.name} coalesced completions (not run: ${String(availability)})`, () => it('runs', () => undefined));
}
