/**
 * `watchWork` on SQLite: another store instance's submit on the same file wakes a watcher within
 * ~300 ms; no change, or a change that makes nothing claimable, wakes nobody; a delayed step wakes
 * the watcher when its run_after passes; this instance's own submit wakes it at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const SUBMIT = { type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 };

let dir: string;
let watcher: SqliteStore;
let producer: SqliteStore;
const unsubscribes: (() => void)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-watch-'));
  const path = join(dir, 'queue.db');
  watcher = await openSqliteStore({ path, policy: POLICY });
  await watcher.migrate();
  producer = await openSqliteStore({ path, policy: POLICY });
});

afterEach(async () => {
  for (const u of unsubscribes.splice(0)) u();
  await producer.close();
  await watcher.close();
  await rm(dir, { recursive: true, force: true });
});

/** Subscribes and records when each call came, relative to `since()`. */
function watch(store: SqliteStore) {
  let origin = performance.now();
  const calls: number[] = [];
  unsubscribes.push(store.watchWork(() => calls.push(performance.now() - origin)));
  return { calls, since: () => (origin = performance.now()) };
}

it("fires within ~300 ms of another instance's submit", async () => {
  const w = watch(watcher);
  await sleep(150);
  w.since();
  await producer.stepSubmit(SUBMIT);
  await waitFor('a wake-up', () => w.calls.length > 0, 1_000, 5);
  expect(w.calls.length).toBeGreaterThan(0);
  expect(w.calls[0]).toBeLessThan(300);
});

it('does not fire when nothing changed, nor on a change that makes nothing claimable', async () => {
  await producer.stepSubmit({ ...SUBMIT, delayMs: 60_000 });
  const w = watch(watcher);
  await sleep(400);
  expect(w.calls).toEqual([]);
  // A commit by another connection that leaves nothing claimable: the probe runs, nobody is woken.
  await producer.podRegister({ podId: 'p-00000001', name: 'p', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: '0', host: 'h' } });
  await sleep(300);
  expect(w.calls).toEqual([]);
});

it('fires when a delayed step falls due, with no further commit', async () => {
  const w = watch(watcher);
  await sleep(150);
  w.since();
  await producer.stepSubmit({ ...SUBMIT, delayMs: 400 });
  await sleep(250);
  expect(w.calls).toEqual([]);
  await waitFor('a wake-up', () => w.calls.length > 0, 1_000, 5);
  expect(w.calls[0]).toBeGreaterThanOrEqual(395);
  expect(w.calls[0]).toBeLessThan(700);
});

it("hears this instance's own submit at once, and stops after unsubscribe and close", async () => {
  const w = watch(watcher);
  w.since();
  await watcher.stepSubmit(SUBMIT);
  await Promise.resolve();
  expect(w.calls.length).toBe(1);
  expect(w.calls[0]).toBeLessThan(50);

  const u = unsubscribes.pop()!;
  u();
  u();
  const before = w.calls.length;
  await producer.stepSubmit(SUBMIT);
  await sleep(300);
  expect(w.calls.length).toBe(before);

  const late = watch(watcher);
  await watcher.close();
  await producer.stepSubmit(SUBMIT);
  await sleep(300);
  expect(late.calls).toEqual([]);
});
