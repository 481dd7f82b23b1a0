/**
 * SQLite retention in bounded batches: with one writer per file, a prune of many expired steps must
 * let claims in between its batches instead of holding the write lock until the last row is gone.
 * How long a claim waits is measured by `npm run bench -- --scale`; this checks the interleaving.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const EXPIRED = 20_000;
const POD = 'alpha-00000001';

let dir: string;
let store: SqliteStore;
let raw: Database.Database;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-retention-'));
  store = await openSqliteStore({ path: join(dir, 'queue.db'), policy: POLICY });
  await store.migrate();
  raw = new Database(join(dir, 'queue.db'));
});

afterEach(async () => {
  raw.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** `count` steps completed long ago, each with its three events, written straight into the file. */
function completedLongAgo(count: number): void {
  raw.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
    INSERT INTO step_tracker (step_id, type, args, status, claimed_by, attempt, max_retries, run_after, timeout_ms, created_ts, last_update_ts)
    SELECT printf('step_old%08d', i), 'echo', '{}', 'completed', '${POD}', 1, 3, ${T0}, 1000, ${T0}, ${T0} FROM n;
    INSERT INTO step_events (step_id, ts, kind, pod_id, attempt)
    SELECT step_id, ${T0}, kind.k, NULL, 1 FROM step_tracker, (SELECT 'submitted' AS k UNION ALL SELECT 'claimed' UNION ALL SELECT 'completed') kind;
  `);
}

describe('sqlite retention', () => {
  it('lets a claim in between batches while pruning many expired steps', async () => {
    completedLongAgo(EXPIRED);
    const now = T0 + 10 * DAY;
    await store.podRegister({ podId: POD, name: 'alpha', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: 't', host: 'h' }, now });
    const { stepId } = await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000, now });

    const pruning = store.retentionPrune({ olderThanMs: DAY, now, batchSize: 500 });
    // Issued from a timer, as a pod's claim loop would be, once the first batch has run.
    const claimed = new Promise<{ ids: string[]; left: number }>((resolve, reject) => {
      setTimeout(() => {
        store
          .stepClaim({ podId: POD, types: ['echo'], limit: 1, now })
          .then((rows) =>
            resolve({
              ids: rows.map((r) => r.stepId),
              left: Number(raw.prepare(`SELECT count(*) FROM step_tracker WHERE status = 'completed'`).pluck().get()),
            }),
          )
          .catch(reject);
      }, 0);
    });
    const claim = await claimed;
    expect(claim.ids).toEqual([stepId]);
    // Answered while expired steps were still there: the prune had not finished.
    expect(claim.left).toBeGreaterThan(0);
    expect(claim.left).toBeLessThan(EXPIRED);
    expect(await pruning).toEqual({ steps: EXPIRED, events: 3 * EXPIRED, pods: 0 });
    expect(raw.prepare('SELECT count(*) FROM step_events').pluck().get()).toBe(2);
  });
});
