/**
 * PostgreSQL connections under failure: killing every backend of a store (pg_terminate_backend)
 * neither crashes the process nor breaks the store (the errors are reported through onError and the
 * next calls connect afresh); heartbeats and leadership keep answering while every connection of
 * the main pool is stuck behind a lock; a server that cannot be reached is a retryable StoreError.
 */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { openPostgresStore } from '../../src/store/postgres/driver.js';
import { withClient } from '../support/postgres.js';
import { POLICY, SUBMIT, pgTestDatabases } from './postgres-fixture.js';
import { waitFor } from '../support/wait.js';

const database = pgTestDatabases();
const META = { max_parallelism: 2, capacity: 2, in_flight: 0, version: 't', host: 'h' };

/** Terminates every backend whose application_name is `tag`; returns how many. */
function terminate(url: string, tag: string): Promise<number> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [tag],
    );
    return rows[0]!.n;
  });
}

describe('postgres connections', () => {
  it('survives pg_terminate_backend of all its connections: reports them, then the next calls work', async () => {
    const db = await database({ tag: true });
    const store = await db.open();
    await store.migrate();
    await store.podRegister({ podId: 'alpha-00000001', name: 'alpha', meta: META });
    const stop = store.watchWork(() => undefined);
    await waitFor('the LISTEN connection', () => store.listening, 5_000);
    // Open several main-pool connections at once so there are idle ones to kill.
    await Promise.all(Array.from({ length: 4 }, () => store.stepSubmit(SUBMIT)));

    const killed = await terminate(db.baseUrl, db.schema);
    expect(killed).toBeGreaterThanOrEqual(3);
    await waitFor(`${killed} reported errors`, () => db.errors.length >= killed, 5_000);
    for (const error of db.errors) {
      expect(error).toBeInstanceOf(StoreError);
      expect(error.errorClass).toBe('retryable');
    }
    expect(db.errors.map((e) => e.driverCode)).toContain('57P01');

    expect((await store.stepSubmit(SUBMIT)).outcome).toBe('submitted');
    expect((await store.podHeartbeat({ podId: 'alpha-00000001' })).ok).toBe(true);
    expect((await store.leaderGet()).leader?.podId).toBe('alpha-00000001');
    expect((await store.queueStats()).pending).toBe(5);
    await waitFor('the LISTEN connection to come back', () => store.listening, 10_000);
    stop();
  });

  it('keeps heartbeats and the leader check answering while every main-pool connection waits on a lock', async () => {
    const db = await database();
    const store = await db.open({ poolSize: 2 });
    await store.migrate();
    await store.podRegister({ podId: 'alpha-00000001', name: 'alpha', meta: META });
    await store.stepSubmit(SUBMIT);
    const blocker = await withClient(db.baseUrl, async (c) => {
      await c.query('BEGIN');
      await c.query(`LOCK TABLE "${db.schema}".step_tracker IN ACCESS EXCLUSIVE MODE`);
      // Four claims on a pool of two: both connections stuck, two more calls queued behind them.
      const claims = Array.from({ length: 4 }, () => store.stepClaim({ podId: 'alpha-00000001', types: ['echo'], limit: 1 }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      const beat = await store.podHeartbeat({ podId: 'alpha-00000001' });
      const leader = await store.leaderGet();
      const elapsed = performance.now() - started;
      await c.query('ROLLBACK');
      return { beat, leader, elapsed, claimed: (await Promise.all(claims)).flat().length };
    });
    expect(blocker.beat.ok).toBe(true);
    expect(blocker.leader.leader?.podId).toBe('alpha-00000001');
    expect(blocker.elapsed).toBeLessThan(500);
    expect(blocker.claimed).toBe(1);
  });

  it('answers a retryable StoreError when the server cannot be reached, and leaves nothing open', async () => {
    const error = await openPostgresStore({ url: 'postgresql://postgres@127.0.0.1:1/none', policy: POLICY }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).errorClass).toBe('retryable');
    expect((error as StoreError).driverCode).toBe('ECONNREFUSED');
  });
});
