/**
 * The SQLite store's idle-claim memo (idle-claims.ts): a claim that found nothing due may answer the
 * next one from memory only while the file is provably unchanged. Each case makes the memo's answer
 * wrong if it were kept too long (another connection's commit, the store's own write, time passing a
 * delayed step's run_after, the pod fenced elsewhere) and checks the claim still sees the truth.
 * Real files, two store instances on one file as two pods would have.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PodFencedError } from '../../src/errors.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import { IdleClaimMemo } from '../../src/store/sqlite/idle-claims.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 60_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 4, capacity: 4, in_flight: 0, version: '0', host: 'h' };
const POD = 'alpha-00000001';
const T0 = 1_700_000_000_000;
const STEP = { type: 'echo', args: {}, maxRetries: 3, timeoutMs: 60_000 };

let dir: string;
const opened: SqliteStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-idle-claims-'));
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<SqliteStore> {
  const store = await openSqliteStore({ path: join(dir, 'q.db'), policy: POLICY });
  opened.push(store);
  await store.migrate();
  return store;
}

const claim = (store: SqliteStore, now: number) => store.stepClaim({ podId: POD, types: ['echo'], limit: 4, now });

describe('SQLite idle claims', () => {
  it('sees a step another connection submitted after an idle claim', async () => {
    const pod = await open();
    const producer = await open();
    await pod.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    expect(await claim(pod, T0 + 1)).toEqual([]);
    expect(await claim(pod, T0 + 2)).toEqual([]);
    const { stepId } = await producer.stepSubmit({ ...STEP, now: T0 + 3 });
    expect((await claim(pod, T0 + 4)).map((r) => r.stepId)).toEqual([stepId]);
  });

  it("sees a step the store's own connection submitted after an idle claim", async () => {
    const store = await open();
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    expect(await claim(store, T0 + 1)).toEqual([]);
    const { stepId } = await store.stepSubmit({ ...STEP, now: T0 + 2 });
    expect((await claim(store, T0 + 3)).map((r) => r.stepId)).toEqual([stepId]);
  });

  it('claims a delayed step once its run_after passes, with no commit in between', async () => {
    const store = await open();
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    const { stepId } = await store.stepSubmit({ ...STEP, delayMs: 1_000, now: T0 });
    expect(await claim(store, T0 + 10)).toEqual([]);
    expect(await claim(store, T0 + 999)).toEqual([]);
    expect((await claim(store, T0 + 1_000)).map((r) => r.stepId)).toEqual([stepId]);
  });

  it('refuses a pod another connection marked down after its idle claim', async () => {
    const pod = await open();
    const other = await open();
    await pod.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    expect(await claim(pod, T0 + 1)).toEqual([]);
    await other.podMarkDown({ podId: POD });
    await expect(claim(pod, T0 + 2)).rejects.toBeInstanceOf(PodFencedError);
  });

  it('refuses an unregistered pod right after a registered one found nothing', async () => {
    const store = await open();
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    expect(await claim(store, T0 + 1)).toEqual([]);
    await expect(store.stepClaim({ podId: 'nobody-00000000', types: ['echo'], limit: 1, now: T0 + 2 })).rejects.toBeInstanceOf(PodFencedError);
  });

  it('does not answer a claim of other types from the memo', async () => {
    const store = await open();
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    await store.stepSubmit({ ...STEP, type: 'other', now: T0 });
    expect(await claim(store, T0 + 1)).toEqual([]);
    expect(await store.stepClaim({ podId: POD, types: ['other'], limit: 1, now: T0 + 2 })).toHaveLength(1);
  });
});

describe('IdleClaimMemo', () => {
  const markers = { dataVersion: 3, ownWrites: 7 };

  it('answers only for the same pod and types, unchanged markers and a time before the next due step', () => {
    const memo = new IdleClaimMemo();
    const unread = () => {
      throw new Error('markers read with no answer that could apply');
    };
    expect(memo.nothingDue('p', '["a"]', 10, unread)).toBe(false);
    memo.remember('p', '["a"]', markers, 100);
    expect(memo.nothingDue('q', '["a"]', 10, () => markers)).toBe(false);
    expect(memo.nothingDue('p', '["a"]', 99, () => ({ ...markers }))).toBe(true);
    expect(memo.nothingDue('p', '["a"]', 5, () => markers)).toBe(true);
    expect(memo.nothingDue('p', '["a"]', 100, unread)).toBe(false);
    expect(memo.nothingDue('p', '["b"]', 10, () => markers)).toBe(false);
    expect(memo.nothingDue('p', '["a"]', 10, () => ({ ...markers, dataVersion: 4 }))).toBe(false);
    expect(memo.nothingDue('p', '["a"]', 10, () => ({ ...markers, ownWrites: 8 }))).toBe(false);
    memo.remember('p', '["a"]', markers, null);
    expect(memo.nothingDue('p', '["a"]', Number.MAX_SAFE_INTEGER, () => markers)).toBe(true);
    memo.forget();
    expect(memo.nothingDue('p', '["a"]', 10, () => markers)).toBe(false);
  });
});
