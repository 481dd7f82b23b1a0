/**
 * Conformance: an operator's replay of a dead-lettered step (DESIGN §3 Replay): only from `failed`;
 * `retry_count` back to 0, attempt and last_error kept, claimable at once, a new episode of retries.
 * Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';
import { POD_A, T0, claimOne, freshStores, kindsOf, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Claims and fails `stepId` until it is dead-lettered; returns the time of the last failure. */
async function failUntilDeadLettered(store: Store, stepId: string, from: number): Promise<number> {
  let t = from;
  for (;;) {
    const row = await claimOne(store, POD_A, t, stepId);
    t += 1;
    const outcome = await store.stepFail({
      stepId,
      podId: POD_A,
      attempt: row.attempt,
      error: `fail ${row.attempt}`,
      retryable: true,
      reason: 'error',
      now: t,
    });
    if (outcome.applied && outcome.outcome === 'dead_lettered') return t;
    t = (await mustGet(store, stepId)).runAfter;
  }
}

/** Registers the operator-replay cases for `factory`. */
export function describeDlqReplay(factory: StoreFactory): void {
  describe('replay from the DLQ', () => {
    const open = freshStores(factory);

    it('moves a failed step to pending with retry_count 0, keeping attempt and last_error, and records the old retry_count', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries: 2 });
      const failedAt = await failUntilDeadLettered(store, stepId, T0);
      const replayAt = failedAt + 60_000;
      const replayed = await store.stepReplay({ stepId, now: replayAt });
      const row = await mustGet(store, stepId);
      expect(replayed).toEqual(row);
      expect(row).toMatchObject({
        status: 'pending',
        claimedBy: null,
        retryCount: 0,
        attempt: 3,
        lastError: 'fail 3',
        runAfter: replayAt,
        lastUpdateTs: replayAt,
      });
      const event = await lastEvent(store, stepId);
      expect(event).toMatchObject({ kind: 'replayed', podId: null, attempt: 3, ts: replayAt });
      expect(event.detail).toMatchObject({ old_retry_count: 2 });
      expect((await claimOne(store, POD_A, replayAt, stepId)).attempt).toBe(4);
    });

    it('starts a new episode: the step gets max_retries retries again before the DLQ', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { maxRetries: 1 });
      const firstEpisodeEnd = await failUntilDeadLettered(store, stepId, T0);
      await store.stepReplay({ stepId, now: firstEpisodeEnd + 1 });
      await failUntilDeadLettered(store, stepId, firstEpisodeEnd + 1);
      expect(await mustGet(store, stepId)).toMatchObject({ status: 'failed', retryCount: 1, attempt: 4 });
      expect(await kindsOf(store, stepId)).toEqual([
        'submitted',
        'claimed',
        'retried',
        'claimed',
        'dead_lettered',
        'replayed',
        'claimed',
        'retried',
        'claimed',
        'dead_lettered',
      ]);
    });

    it('throws NotFoundError for an unknown step', async () => {
      const { store } = await open();
      await expect(store.stepReplay({ stepId: 'step_0000000000NOSUCHSTEP000000', now: T0 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('throws ConflictError for a pending, claimed or completed step, changing nothing', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const pending = await submit(store, { priority: 0 });
      const claimed = await submit(store, { priority: 2 });
      const completed = await submit(store, { priority: 1 });
      await claimOne(store, POD_A, T0, claimed);
      await claimOne(store, POD_A, T0, completed);
      await store.stepComplete({ stepId: completed, podId: POD_A, attempt: 1, result: 1, now: T0 });
      for (const stepId of [pending, claimed, completed]) {
        const before = await mustGet(store, stepId);
        const kinds = await kindsOf(store, stepId);
        await expect(store.stepReplay({ stepId, now: T0 + 1 })).rejects.toBeInstanceOf(ConflictError);
        expect(await mustGet(store, stepId)).toEqual(before);
        expect(await kindsOf(store, stepId)).toEqual(kinds);
      }
    });
  });
}
