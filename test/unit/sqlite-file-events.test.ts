/**
 * The SQLite watcher on file events (src/store/sqlite/watch.ts, file-changes.ts), on a real file with
 * a second store as the other process: a commit is heard long before the fallback poll, a delayed
 * step wakes the watcher on time with no commit, an idle watcher reads almost nothing, a busy file
 * is polled and a quiet one listened to again, and when the events cannot be had or miss a change,
 * it polls for good. Cases set the fallback poll far beyond their bounds where only what they
 * check may wake the watcher.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import { databaseFileChanges, type FileChanges } from '../../src/store/sqlite/file-changes.js';
import { sqliteQueries } from '../../src/store/sqlite/queries.js';
import { WorkWatcher, type WatchOptions, type WatchStatements } from '../../src/store/sqlite/watch.js';
import { tableNames } from '../../src/store/schema.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const SUBMIT = { type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 };
/** Longer than any wait below: a wake-up within a case's bound never comes from the fallback poll. */
const NO_FALLBACK = 60_000;

let dir: string;
let path: string;
let producer: SqliteStore;
let connection: Database.Database;
let reads: number;
const watchers: WorkWatcher[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-events-'));
  path = join(dir, 'queue.db');
  producer = await openSqliteStore({ path, policy: POLICY });
  await producer.migrate();
  connection = new Database(path);
  reads = 0;
});

afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  connection.close();
  await producer.close();
  await rm(dir, { recursive: true, force: true });
});

/** A watcher on its own connection, as the store makes one; `reads` counts its reads of the change marker. */
function watcher(options: WatchOptions) {
  const queries = sqliteQueries(tableNames(''));
  const dataVersion = connection.prepare(queries.pragmaDataVersion);
  const probe = connection.prepare(queries.watchProbe);
  const statements = (): WatchStatements => {
    reads++;
    return { dataVersion, probe };
  };
  const w = new WorkWatcher(statements, options);
  watchers.push(w);
  let origin = performance.now();
  const calls: number[] = [];
  w.subscribe(() => calls.push(performance.now() - origin));
  return { w, calls, since: () => (origin = performance.now()) };
}

it("hears another connection's commit through file events, with no poll to wait for", async () => {
  const { w, calls, since } = watcher({ fileChanges: databaseFileChanges(path), fallbackMs: NO_FALLBACK });
  for (let i = 0; i < 3; i++) {
    // Listening, with the fallback poll a minute away: only the file event can wake it in time.
    await waitFor('listening', () => w.listening, 2_000, 2);
    const before = calls.length;
    since();
    await producer.stepSubmit(SUBMIT);
    await waitFor('a wake-up', () => calls.length > before, 5_000, 2);
    expect(calls[before]).toBeLessThan(1_000);
  }
});

it('wakes when a delayed step falls due, with no commit and no poll', async () => {
  const { calls, since } = watcher({ fileChanges: databaseFileChanges(path), fallbackMs: NO_FALLBACK });
  since();
  await producer.stepSubmit({ ...SUBMIT, delayMs: 300 });
  // The submit's commit is heard at once, but nothing is claimable until run_after.
  await sleep(200);
  expect(calls).toEqual([]);
  await waitFor('a wake-up', () => calls.length > 0, 5_000, 2);
  expect(calls[0]).toBeGreaterThanOrEqual(295);
  expect(calls[0]).toBeLessThan(1_000);
});

it('reads the change marker only on events and fallback polls while idle', async () => {
  watcher({ fileChanges: databaseFileChanges(path), fallbackMs: 100 });
  const before = reads;
  await sleep(500);
  // About five fallback polls; polling every WATCH_INTERVAL_MS would have read ~125 times.
  expect(reads - before).toBeLessThanOrEqual(8);
});

it('polls while the file is busy and listens again once it is quiet', async () => {
  const { w, calls } = watcher({ fileChanges: databaseFileChanges(path), fallbackMs: NO_FALLBACK });
  expect(w.listening).toBe(true);
  await producer.stepSubmit(SUBMIT);
  // The commit's file event switches it to polling when it arrives, which under a full test run's
  // load can be later than the next few ms (it once failed a fixed 2 ms wait); back to listening
  // takes three quiet reads 4 ms apart, so a 1 ms look cannot miss the switch.
  await waitFor('polling', () => !w.listening, 2_000, 1);
  const before = reads;
  for (let i = 0; i < 10; i++) {
    await producer.stepSubmit(SUBMIT);
    await sleep(2);
  }
  // Polled every WATCH_INTERVAL_MS while commits kept coming, rather than read per file event.
  expect(reads - before).toBeGreaterThanOrEqual(3);
  expect(calls.length).toBeGreaterThan(0);
  await waitFor('listening again', () => w.listening, 2_000, 2);
  const quiet = reads;
  await sleep(300);
  expect(reads - quiet).toBeLessThanOrEqual(2);
});

it('trusts the events under a stream of commits: a change they announced never makes it poll for good', async () => {
  const { w, calls } = watcher({ fileChanges: databaseFileChanges(path), fallbackMs: 5 });
  for (let i = 0; i < 60; i++) {
    await producer.stepSubmit(SUBMIT);
    await sleep(i % 7);
  }
  await waitFor('listening again', () => w.listening, 2_000, 2);
  expect(calls.length).toBeGreaterThan(0);
});

it('polls every few ms when a change comes that no event announced', async () => {
  const silent: FileChanges = () => () => undefined;
  const { w, calls, since } = watcher({ fileChanges: silent, fallbackMs: 50 });
  expect(w.listening).toBe(true);
  await producer.stepSubmit(SUBMIT);
  await waitFor('polling', () => !w.listening, 5_000, 5);
  // The fallback poll found it: woken once, now polling every WATCH_INTERVAL_MS, and for good.
  expect(calls.length).toBe(1);
  const before = reads;
  await sleep(200);
  expect(reads - before).toBeGreaterThan(20);
  expect(w.listening).toBe(false);
  since();
  await producer.stepSubmit(SUBMIT);
  await waitFor('a wake-up', () => calls.length > 1, 5_000, 2);
  expect(calls[1]).toBeLessThan(1_000);
});

it('polls when the events stop, and when they cannot be had at all', async () => {
  let lose: () => void = () => undefined;
  const losing: FileChanges = (_onChange, onLost) => {
    lose = onLost;
    return () => undefined;
  };
  const lost = watcher({ fileChanges: losing, fallbackMs: NO_FALLBACK });
  expect(lost.w.listening).toBe(true);
  lose();
  expect(lost.w.listening).toBe(false);

  const failing: FileChanges = () => {
    throw new Error('ENOSPC: System limit for number of file watchers reached');
  };
  const none = watcher({ fileChanges: failing, fallbackMs: NO_FALLBACK });
  expect(none.w.listening).toBe(false);

  lost.since();
  none.since();
  await producer.stepSubmit(SUBMIT);
  await waitFor('both woken', () => lost.calls.length > 0 && none.calls.length > 0, 5_000, 2);
  expect(lost.calls[0]).toBeLessThan(1_000);
  expect(none.calls[0]).toBeLessThan(1_000);
});

it('stops watching the files when the last listener leaves', async () => {
  let stopped = 0;
  const counted: FileChanges = (onChange, onLost) => {
    const stop = databaseFileChanges(path)(onChange, onLost);
    return () => {
      stopped++;
      stop();
    };
  };
  const { w } = watcher({ fileChanges: counted, fallbackMs: NO_FALLBACK });
  w.close();
  expect(stopped).toBe(1);
  expect(w.listening).toBe(false);
  const before = reads;
  await producer.stepSubmit(SUBMIT);
  await sleep(100);
  expect(reads).toBe(before);
});
