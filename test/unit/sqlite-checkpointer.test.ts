/**
 * Background WAL checkpoints (src/store/sqlite/checkpointer.ts), on real files: a store that writes
 * steadily hands its checkpoints to the worker and its WAL stays small; an idle or in-memory store
 * never starts one; closing stops it; a worker that cannot open the file gives the checkpoints back.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES, STEADY_WRITES, WalCheckpointer } from '../../src/store/sqlite/checkpointer.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const PAGE = 4096;

let dir: string;
const opened: SqliteStore[] = [];

async function open(path: string): Promise<SqliteStore> {
  const store = await openSqliteStore({ path, policy: POLICY });
  opened.push(store);
  await store.migrate();
  return store;
}

/** `n` write transactions, one per turn, as a busy pod makes them: each submits a step (new pages every time). */
async function submits(store: SqliteStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.stepSubmit({ type: 'echo', args: { i, pad: 'x'.repeat(200) }, maxRetries: 0, timeoutMs: 1_000 });
    await turn();
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-checkpoints-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('background WAL checkpoints', () => {
  it('start once a store writes steadily, and keep its WAL small with no checkpoint of its own', async () => {
    const path = join(dir, 'busy.db');
    const store = await open(path);
    expect(store.backgroundCheckpoints).toBe(false);
    await submits(store, STEADY_WRITES);
    expect(store.backgroundCheckpoints).toBe(true);
    expect(store.connectionSettings().walAutocheckpointPages).toBe(FALLBACK_AUTOCHECKPOINT_PAGES);
    // Bursts of writes, as a busy pod makes them, each followed by a pause in which the worker catches
    // up: its checkpoint finds every frame of the WAL in the database file. A submit appends about five
    // pages: 2,000 of them, with the store's own checkpoint now at 10,000 pages, grow the WAL file to
    // about 10,000 pages if nothing else checkpoints it. With the worker caught up, a later write
    // starts the WAL over; the file keeps the largest size it reached (2,100–4,600 pages in trials:
    // a write does not restart the WAL while another connection reads an older snapshot of it).
    for (let burst = 0; burst < 20; burst++) {
      await submits(store, 100);
      const before = store.lastBackgroundCheckpoint?.count ?? 0;
      await waitFor(
        'the worker to catch up with the burst',
        () => {
          const last = store.lastBackgroundCheckpoint;
          return last !== undefined && last.count > before && last.frames > 0 && last.copied === last.frames;
        },
        10_000,
      );
    }
    const walPages = (await stat(`${path}-wal`)).size / PAGE;
    expect(walPages).toBeLessThan(8_000);
    // And the pages reached the database file itself.
    expect((await stat(path)).size).toBeGreaterThan(PAGE);
  });

  it('never start for a store that writes now and then, nor for an in-memory one', async () => {
    const idle = await open(join(dir, 'idle.db'));
    await submits(idle, STEADY_WRITES - 10);
    expect(idle.backgroundCheckpoints).toBe(false);
    expect(idle.connectionSettings().walAutocheckpointPages).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);

    const memory = await open(':memory:');
    await submits(memory, 2 * STEADY_WRITES);
    expect(memory.backgroundCheckpoints).toBe(false);
  });

  it('stop when the store closes', async () => {
    const store = await open(join(dir, 'closing.db'));
    await submits(store, STEADY_WRITES);
    expect(store.backgroundCheckpoints).toBe(true);
    await store.close();
    expect(store.backgroundCheckpoints).toBe(false);
  });

  it('give the checkpoints back to the store when the worker cannot run', async () => {
    const told: string[] = [];
    const checkpointer = new WalCheckpointer(join(dir, 'missing', 'queue.db'), 'PRAGMA wal_checkpoint(PASSIVE)', {
      started: () => told.push('started'),
      stopped: (error) => told.push(`stopped: ${error?.message ?? 'no error'}`),
    });
    checkpointer.start();
    expect(checkpointer.running).toBe(true);
    await waitFor('the worker to stop', () => !checkpointer.running, 5_000);
    expect(told).toEqual(['started', expect.stringMatching(/^stopped: .*(unable to open|directory does not exist)/)]);
    // And it does not start one again with every later burst of writes.
    for (let i = 0; i < 4 * STEADY_WRITES; i++) checkpointer.noteWrite();
    expect(checkpointer.running).toBe(false);
    expect(told).toHaveLength(2);
  });
});
