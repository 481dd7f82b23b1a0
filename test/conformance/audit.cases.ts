/**
 * Conformance: the audit trail as a read model (DESIGN §2 step_events): `eventList` filters and
 * order, and exactly one event per transition (none for reads, duplicates, refusals or pod rows).
 * The randomized replay check is in audit-replay.cases.ts. Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { PodFencedError, ConflictError } from '../../src/errors.js';
import type { Store, StepEventKind } from '../../src/store/store.js';
import { POD_A, POD_B, POLICY, T0, TYPE, allEvents, claimOne, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Runs `operation` and checks it appended exactly these event kinds to the store. */
async function expectAppended(store: Store, kinds: readonly StepEventKind[], operation: () => Promise<unknown>): Promise<void> {
  const before = await allEvents(store);
  const lastId = before.length === 0 ? 0 : before[before.length - 1]!.eventId;
  await operation();
  const appended = await store.eventList({ afterEventId: lastId });
  expect(appended.map((e) => e.kind)).toEqual(kinds);
  expect((await allEvents(store)).length).toBe(before.length + kinds.length);
}

/** Registers the event-list and one-event-per-transition cases for `factory`. */
export function describeAudit(factory: StoreFactory): void {
  describe('audit events', () => {
    const open = freshStores(factory);

    it('lists events in event_id order, filtered by step, by afterEventId and capped by limit', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const first = await submit(store, { priority: 1 });
      const second = await submit(store, { now: T0 + 1 });
      await claimOne(store, POD_A, T0 + 2, first);
      await store.stepComplete({ stepId: first, podId: POD_A, attempt: 1, result: 1, now: T0 + 3 });
      await claimOne(store, POD_A, T0 + 4, second);

      const all = await allEvents(store);
      expect(all.map((e) => [e.stepId, e.kind])).toEqual([
        [first, 'submitted'],
        [second, 'submitted'],
        [first, 'claimed'],
        [first, 'completed'],
        [second, 'claimed'],
      ]);
      expect(all.map((e) => e.ts)).toEqual([T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]);
      const ids = all.map((e) => e.eventId);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);

      expect((await store.eventList({ stepId: second })).map((e) => e.kind)).toEqual(['submitted', 'claimed']);
      expect(await store.eventList({ afterEventId: ids[2]! })).toEqual(all.slice(3));
      expect(await store.eventList({ limit: 2 })).toEqual(all.slice(0, 2));
      expect(await store.eventList({ afterEventId: ids[0]!, limit: 2 })).toEqual(all.slice(1, 3));
      expect(await store.eventList({ stepId: first, afterEventId: ids[0]!, limit: 1 })).toEqual([all[2]]);
      expect(await store.eventList({ stepId: 'step_0000000000NOSUCHSTEP000000' })).toEqual([]);
    });

    it('writes exactly one event per transition and none for reads, duplicates, refusals or pod changes', async () => {
      const { store } = await open();
      const reads = () =>
        Promise.all([
          store.queueStats({ now: T0 }),
          store.dlqList({ limit: 10, offset: 0 }),
          store.podList({ now: T0 }),
          store.leaderGet({ now: T0 }),
          store.recoverySweep({ dryRun: true, now: T0 + 10 * POLICY.deadPodThresholdMs }),
        ]);
      let step = '';
      await expectAppended(store, [], () => registerPod(store, POD_A));
      await expectAppended(store, [], () => registerPod(store, POD_B));
      await expectAppended(store, ['submitted'], async () => (step = await submit(store, { maxRetries: 1, idempotencyKey: 'k' })));
      await expectAppended(store, [], () => store.stepSubmit({ type: TYPE, args: {}, maxRetries: 1, timeoutMs: 1, idempotencyKey: 'k', now: T0 }));
      await expectAppended(store, [], () => expect(submit(store, { args: { other: 1 }, idempotencyKey: 'k' })).rejects.toBeInstanceOf(ConflictError));
      await expectAppended(store, ['claimed'], () => claimOne(store, POD_A, T0, step));
      await expectAppended(store, ['stale_write_rejected'], () => store.stepComplete({ stepId: step, podId: POD_B, attempt: 1, result: 1, now: T0 }));
      await expectAppended(store, ['retried'], () =>
        store.stepFail({ stepId: step, podId: POD_A, attempt: 1, error: 'e', retryable: true, reason: 'error', now: T0 }),
      );
      const { runAfter } = await mustGet(store, step);
      await expectAppended(store, ['claimed'], () => claimOne(store, POD_B, runAfter, step));
      await expectAppended(store, ['released'], () => store.stepRelease({ stepId: step, podId: POD_B, attempt: 2, now: runAfter }));
      await expectAppended(store, ['claimed'], () => claimOne(store, POD_A, runAfter, step));
      await expectAppended(store, ['dead_lettered'], () =>
        store.stepFail({ stepId: step, podId: POD_A, attempt: 3, error: 'e', retryable: true, reason: 'error', now: runAfter }),
      );
      await expectAppended(store, ['replayed'], () => store.stepReplay({ stepId: step, now: runAfter + 1 }));
      await expectAppended(store, ['claimed'], () => claimOne(store, POD_A, runAfter + 1, step));
      await expectAppended(store, [], () => store.podHeartbeat({ podId: POD_B, now: runAfter + 1 }));
      await expectAppended(store, [], reads);
      await expectAppended(store, [], () => store.podMarkDown({ podId: POD_B, now: runAfter + 2 }));
      await expectAppended(store, [], () => expect(claimOne(store, POD_B, runAfter + 2, step)).rejects.toBeInstanceOf(PodFencedError));
      const sweepAt = runAfter + 1 + POLICY.deadPodThresholdMs;
      await expectAppended(store, ['recovered'], () => store.recoverySweep({ podId: POD_B, now: sweepAt }));
      await expectAppended(store, [], () => registerPod(store, POD_B, sweepAt));
      const { runAfter: retryAt } = await mustGet(store, step);
      await expectAppended(store, ['claimed'], () => claimOne(store, POD_B, retryAt, step));
      await expectAppended(store, ['completed'], () => store.stepComplete({ stepId: step, podId: POD_B, attempt: 5, result: 'ok', now: retryAt }));
      expect(await mustGet(store, step)).toMatchObject({ status: 'completed', attempt: 5, retryCount: 1, releaseCount: 1 });
    });
  });
}
