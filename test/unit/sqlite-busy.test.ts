/**
 * The SQLite busy path: while another connection holds the write lock, a store call waits in short
 * SQLite waits plus async retries (the event loop keeps running), succeeds once the lock is gone,
 * and gives up with a retryable StoreError at its deadline; an idle claim never waits for the lock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const SUBMIT = { type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 };

let dir: string;
let path: string;
let store: SqliteStore | undefined;
let holder: Database.Database | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-busy-'));
  path = join(dir, 'queue.db');
});

afterEach(async () => {
  await store?.close();
  if (holder?.inTransaction) holder.exec('ROLLBACK');
  holder?.close();
  store = undefined;
  holder = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Another connection (as another process would) takes the write lock now and keeps it for `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  holder = new Database(path);
  holder.exec('BEGIN IMMEDIATE');
  return new Promise((resolve) =>
    setTimeout(() => {
      holder!.exec('COMMIT');
      resolve();
    }, ms),
  );
}

it('retries while another connection holds the write lock for ~200 ms, then succeeds', async () => {
  store = await openSqliteStore({ path, policy: POLICY, busyTimeoutMs: 20 });
  await store.migrate();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const released = holdWriteLock(200);
  const started = performance.now();
  const result = await store.stepSubmit(SUBMIT);
  const elapsed = performance.now() - started;
  clearInterval(ticker);
  await released;

  expect(result.outcome).toBe('submitted');
  expect(await store.stepGet({ stepId: result.stepId })).not.toBeNull();
  expect(elapsed).toBeGreaterThanOrEqual(150);
  expect(store.busyRetries).toBeGreaterThan(0);
  // A 10 ms ticker kept running while the call waited: the lock never froze the event loop. A frozen
  // loop would let it tick at most once after the wait; a loaded CI machine may delay timers many
  // times over, so two ticks is the bound that still tells the two apart.
  expect(ticks).toBeGreaterThanOrEqual(2);
});

it('gives up at the deadline with a retryable StoreError carrying SQLITE_BUSY', async () => {
  store = await openSqliteStore({ path, policy: POLICY, busyTimeoutMs: 10, busyRetry: { deadlineMs: 150, minDelayMs: 2, maxDelayMs: 20 } });
  await store.migrate();
  const released = holdWriteLock(600);
  const started = performance.now();
  const error = await store.stepSubmit(SUBMIT).catch((e: unknown) => e);
  const elapsed = performance.now() - started;
  await released;

  expect(error).toBeInstanceOf(StoreError);
  expect(error).toMatchObject({ code: 'database_error', errorClass: 'retryable' });
  expect((error as StoreError).driverCode).toMatch(/^SQLITE_BUSY/);
  expect(elapsed).toBeLessThan(500);
  // Nothing was half-written: once the lock is gone the store works and holds no step.
  expect(await store.queueStats()).toMatchObject({ pending: 0 });
});

it('reads go on while another connection holds the write lock (WAL)', async () => {
  store = await openSqliteStore({ path, policy: POLICY });
  await store.migrate();
  const { stepId } = await store.stepSubmit(SUBMIT);
  const released = holdWriteLock(300);
  const started = performance.now();
  expect((await store.stepGet({ stepId }))?.status).toBe('pending');
  expect(performance.now() - started).toBeLessThan(100);
  await released;
});

it('an idle claim (nothing due) does not wait for the write lock', async () => {
  store = await openSqliteStore({ path, policy: POLICY });
  await store.migrate();
  await store.podRegister({ podId: 'p-00000001', name: 'p', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: '0', host: 'h' } });
  await store.stepSubmit({ ...SUBMIT, delayMs: 60_000 });
  const released = holdWriteLock(300);
  const started = performance.now();
  expect(await store.stepClaim({ podId: 'p-00000001', types: ['echo'], limit: 5 })).toEqual([]);
  expect(performance.now() - started).toBeLessThan(100);
  expect(store.busyRetries).toBe(0);
  // A fenced pod is still refused without the write lock.
  await expect(store.stepClaim({ podId: 'nobody-00000000', types: ['echo'], limit: 5 })).rejects.toMatchObject({ code: 'pod_fenced' });
  await released;
});
