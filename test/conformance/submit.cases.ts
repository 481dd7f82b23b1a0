/**
 * Conformance: submit, batch submit and idempotency (DESIGN §2 step_tracker, §3 Idempotency).
 * Checks only what the `Store` interface promises; must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../src/errors.js';
import { POD_A, T0, TYPE, allEvents, claimOne, eventsOf, freshStores, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the submit, idempotency and batch cases for `factory`. */
export function describeSubmit(factory: StoreFactory): void {
  describe('submit', () => {
    const open = freshStores(factory);

    it('stores a pending step with every submitted field and writes one submitted event', async () => {
      const { store } = await open();
      const args = { n: 1, nested: { list: [1, 'two', null, true, 2.5] }, text: 'héllo ✓' };
      const stepId = await submit(store, {
        args,
        metadata: { trace: 'abc', tags: ['x'] },
        priority: 7,
        maxRetries: 2,
        timeoutMs: 5_000,
        idempotencyKey: 'order-1',
        now: T0,
      });
      expect(stepId).toMatch(/^step_/);
      expect(await mustGet(store, stepId)).toMatchObject({
        stepId,
        type: TYPE,
        args,
        metadata: { trace: 'abc', tags: ['x'] },
        priority: 7,
        status: 'pending',
        claimedBy: null,
        attempt: 0,
        retryCount: 0,
        maxRetries: 2,
        releaseCount: 0,
        runAfter: T0,
        timeoutMs: 5_000,
        idempotencyKey: 'order-1',
        lastError: null,
        result: null,
        createdTs: T0,
        lastUpdateTs: T0,
      });
      const events = await eventsOf(store, stepId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ stepId, kind: 'submitted', podId: null, attempt: 0, ts: T0 });
      expect(events[0]!.detail).toMatchObject({ priority: 7, max_retries: 2 });
    });

    it('defaults priority to 0, metadata to {} and the idempotency key to null', async () => {
      const { store } = await open();
      const stepId = await submit(store, { args: [1, 2, 3] });
      expect(await mustGet(store, stepId)).toMatchObject({ args: [1, 2, 3], priority: 0, metadata: {}, idempotencyKey: null, runAfter: T0 });
    });

    it('delays the first claim by delayMs', async () => {
      const { store } = await open();
      const stepId = await submit(store, { delayMs: 2_500 });
      expect((await mustGet(store, stepId)).runAfter).toBe(T0 + 2_500);
    });

    it('gives each submit a distinct, time-ordered id', async () => {
      const { store } = await open();
      const first = await submit(store, { now: T0 });
      const second = await submit(store, { now: T0 + 1 });
      const third = await submit(store, { now: T0 + 2 });
      expect(new Set([first, second, third]).size).toBe(3);
      expect([third, first, second].sort()).toEqual([first, second, third]);
    });

    it('refuses args or metadata holding U+0000 with ValidationError, writing nothing, alike on every store', async () => {
      const { store } = await open();
      await expect(submit(store, { args: { text: 'a\u0000b' }, now: T0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(submit(store, { metadata: { m: '\u0000' }, now: T0 })).rejects.toBeInstanceOf(ValidationError);
      expect(await allEvents(store)).toEqual([]);
      const stepId = await submit(store, { args: { text: 'a\\u0000b' }, now: T0 });
      expect((await mustGet(store, stepId)).args).toEqual({ text: 'a\\u0000b' });
    });

    it('stepGet answers null for an unknown id', async () => {
      const { store } = await open();
      expect(await store.stepGet({ stepId: 'step_0000000000NOSUCHSTEP000000' })).toBeNull();
    });
  });

  describe('idempotency', () => {
    const open = freshStores(factory);

    it('answers duplicate with the existing id for identical args in any key order, writing nothing', async () => {
      const { store } = await open();
      const stepId = await submit(store, { args: { a: 1, b: { c: 2, d: 3 } }, idempotencyKey: 'k' });
      const before = await mustGet(store, stepId);
      const again = await store.stepSubmit({
        type: TYPE,
        args: { b: { d: 3, c: 2 }, a: 1 },
        metadata: { other: true },
        priority: 9,
        maxRetries: 1,
        timeoutMs: 1_000,
        idempotencyKey: 'k',
        now: T0 + 5_000,
      });
      expect(again).toEqual({ stepId, outcome: 'duplicate' });
      expect(await mustGet(store, stepId)).toEqual(before);
      expect((await allEvents(store)).map((e) => e.kind)).toEqual(['submitted']);
    });

    it('throws ConflictError for the same key with different args, writing nothing', async () => {
      const { store } = await open();
      const stepId = await submit(store, { args: { a: 1 }, idempotencyKey: 'k' });
      await expect(submit(store, { args: { a: 2 }, idempotencyKey: 'k', now: T0 + 1 })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.queueStats({ now: T0 + 1 })).pending).toBe(1);
      expect((await allEvents(store)).map((e) => [e.stepId, e.kind])).toEqual([[stepId, 'submitted']]);
    });

    it('keeps answering duplicate after the step completed, while its row exists', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const stepId = await submit(store, { args: { a: 1 }, idempotencyKey: 'k' });
      await claimOne(store, POD_A, T0, stepId);
      await store.stepComplete({ stepId, podId: POD_A, attempt: 1, result: 'done', now: T0 + 1 });
      const again = await store.stepSubmit({ type: TYPE, args: { a: 1 }, maxRetries: 3, timeoutMs: 1_000, idempotencyKey: 'k', now: T0 + 2 });
      expect(again).toEqual({ stepId, outcome: 'duplicate' });
      expect((await mustGet(store, stepId)).status).toBe('completed');
    });

    it('scopes the key to the type: the same key under another type is a new step', async () => {
      const { store } = await open();
      const first = await submit(store, { type: 'echo', args: { a: 1 }, idempotencyKey: 'k' });
      const second = await submit(store, { type: 'sleep', args: { a: 2 }, idempotencyKey: 'k' });
      expect(second).not.toBe(first);
      expect((await mustGet(store, second)).type).toBe('sleep');
    });

    it('never deduplicates steps without a key', async () => {
      const { store } = await open();
      const ids = [
        await submit(store, { args: { a: 1 } }),
        await submit(store, { args: { a: 1 }, idempotencyKey: null }),
        await submit(store, { args: { a: 1 }, idempotencyKey: null }),
      ];
      expect(new Set(ids).size).toBe(3);
      expect((await store.queueStats({ now: T0 })).pending).toBe(3);
    });
  });

  describe('batch submit', () => {
    const open = freshStores(factory);
    const item = (args: { [key: string]: number }, idempotencyKey: string | null = null, type = TYPE) => ({
      type,
      args,
      maxRetries: 3,
      timeoutMs: 1_000,
      idempotencyKey,
    });

    it('inserts every item with one submitted event each, results in input order', async () => {
      const { store } = await open();
      const { results } = await store.stepSubmitBatch({ steps: [item({ i: 0 }), item({ i: 1 }, 'k1'), item({ i: 2 })], now: T0 });
      expect(results.map((r) => r.outcome)).toEqual(['submitted', 'submitted', 'submitted']);
      for (const [i, r] of results.entries()) {
        expect((await mustGet(store, r.stepId)).args).toEqual({ i });
        expect((await eventsOf(store, r.stepId)).map((e) => e.kind)).toEqual(['submitted']);
      }
    });

    it('answers duplicate for an item matching an existing step, and submits the rest', async () => {
      const { store } = await open();
      const existing = await submit(store, { args: { i: 1 }, idempotencyKey: 'k1' });
      const { results } = await store.stepSubmitBatch({ steps: [item({ i: 0 }), item({ i: 1 }, 'k1'), item({ i: 2 }, 'k2')], now: T0 + 1 });
      expect(results.map((r) => r.outcome)).toEqual(['submitted', 'duplicate', 'submitted']);
      expect(results[1]!.stepId).toBe(existing);
      expect((await eventsOf(store, existing)).map((e) => e.kind)).toEqual(['submitted']);
      expect((await allEvents(store)).length).toBe(3);
    });

    it('writes nothing when one item conflicts with an existing step (ConflictError)', async () => {
      const { store } = await open();
      await submit(store, { args: { i: 1 }, idempotencyKey: 'k1' });
      await expect(store.stepSubmitBatch({ steps: [item({ i: 0 }), item({ i: 99 }, 'k1'), item({ i: 2 })], now: T0 + 1 })).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect((await store.queueStats({ now: T0 + 1 })).pending).toBe(1);
      expect((await allEvents(store)).length).toBe(1);
    });

    it('refuses two items sharing (type, idempotency_key) with a ValidationError listing their indexes', async () => {
      const { store } = await open();
      const error = await store.stepSubmitBatch({ steps: [item({ i: 0 }, 'k'), item({ i: 1 }), item({ i: 0 }, 'k')], now: T0 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ValidationError);
      const locs = ((error as ValidationError).errors ?? []).map((e) => e.loc).join(' ');
      expect(locs).toMatch(/\b0\b/);
      expect(locs).toMatch(/\b2\b/);
      expect(locs).not.toMatch(/\b1\b/);
      expect((await store.queueStats({ now: T0 })).pending).toBe(0);
      expect(await allEvents(store)).toEqual([]);
    });

    it('allows the same key under two types in one batch', async () => {
      const { store } = await open();
      const { results } = await store.stepSubmitBatch({ steps: [item({ i: 0 }, 'k', 'echo'), item({ i: 1 }, 'k', 'sleep')], now: T0 });
      expect(results.map((r) => r.outcome)).toEqual(['submitted', 'submitted']);
      expect(results[0]!.stepId).not.toBe(results[1]!.stepId);
    });
  });
}
