/**
 * PostgreSQL `watchWork`: LISTEN/NOTIFY wakes an idle pod within 200 ms of a submit made by another
 * process (another store, another pool); a backoff-delayed step wakes it when it becomes due though
 * nothing notifies then; the LISTEN connection comes back after the server kills it; unsubscribing
 * stops the wakes; subscribers that ask are told when the listener is up and when it drops.
 */
import { describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/store/postgres/driver.js';
import { withClient } from '../support/postgres.js';
import { SUBMIT, pgTestDatabases, uniqueName } from './postgres-fixture.js';
import { waitFor } from '../support/wait.js';

const freshSchema = pgTestDatabases();

/**
 * A fresh schema whose stores share a table prefix of their own. A NOTIFY channel belongs to the
 * database, not to a schema (`<prefix>fleet_q_work`), so without one this file's listeners would also
 * hear every submit of the test files running beside it on the same database, and count its wakes.
 */
async function database(options?: { readonly tag?: boolean }) {
  const db = await freshSchema(options);
  const tablePrefix = `${uniqueName('w')}_`;
  return { ...db, open: (extra: Parameters<typeof db.open>[0] = {}) => db.open({ tablePrefix, ...extra }) };
}

/** Subscribes and waits until the LISTEN connection is up and its catch-up wake has passed. */
async function listen(store: PostgresStore): Promise<{ wakes: number[]; stop: () => void }> {
  const wakes: number[] = [];
  const stop = store.watchWork(() => wakes.push(performance.now()));
  await waitFor('the LISTEN connection', () => store.listening, 5_000);
  await waitFor('the catch-up wake after connecting', () => wakes.length > 0, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  wakes.length = 0;
  return { wakes, stop };
}

describe('postgres watchWork', () => {
  it('wakes within 200 ms of a submit from another pool', async () => {
    const db = await database();
    const idle = await db.open();
    await idle.migrate();
    const producer = await db.open();
    const { wakes, stop } = await listen(idle);
    for (let round = 0; round < 3; round++) {
      const before = wakes.length;
      const submittedAt = performance.now();
      await producer.stepSubmit(SUBMIT);
      await waitFor('a wake after the submit', () => wakes.length > before, 2_000);
      expect(wakes[before]! - submittedAt).toBeLessThan(200);
    }
    stop();
    expect(db.errors).toEqual([]);
  });

  it('wakes when a delayed step becomes due, with no notification at that moment', async () => {
    const db = await database();
    const idle = await db.open();
    await idle.migrate();
    const producer = await db.open();
    const { wakes, stop } = await listen(idle);
    const submittedAt = performance.now();
    await producer.stepSubmit({ ...SUBMIT, delayMs: 600 });
    await waitFor('the wake at run_after', () => wakes.some((t) => t - submittedAt >= 550), 3_000);
    const due = wakes.find((t) => t - submittedAt >= 550)!;
    expect(due - submittedAt).toBeLessThan(1_200);
    stop();
  });

  it('also wakes for a retry and for a replay, but not for a dead-letter', async () => {
    const db = await database();
    const idle = await db.open();
    await idle.migrate();
    const worker = await db.open();
    const pod = 'worker-00000001';
    await worker.podRegister({ podId: pod, name: 'worker', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: 't', host: 'h' } });
    const { stepId } = await worker.stepSubmit({ ...SUBMIT, maxRetries: 1 });
    const { wakes, stop } = await listen(idle);
    const wakeAfter = async (what: string, action: () => Promise<unknown>) => {
      const before = wakes.length;
      await action();
      await waitFor(`a wake after ${what}`, () => wakes.length > before, 2_000);
    };
    const first = (await worker.stepClaim({ podId: pod, types: ['echo'], limit: 1 }))[0]!;
    // The retry is recorded an hour ahead: its backoff (0.5-1 s here) must not end during the test,
    // or the listener's timer for that run_after would wake it, rightly, while the dead-letter is watched.
    const later = Date.now() + 3_600_000;
    await wakeAfter('a retry', () => worker.stepFail({ stepId, podId: pod, attempt: first.attempt, error: 'e', retryable: true, reason: 'error', now: later }));
    const { runAfter } = (await worker.stepGet({ stepId }))!;
    const second = (await worker.stepClaim({ podId: pod, types: ['echo'], limit: 1, now: runAfter }))[0]!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeDeadLetter = wakes.length;
    const outcome = await worker.stepFail({ stepId, podId: pod, attempt: second.attempt, error: 'e', retryable: true, reason: 'error', now: runAfter });
    expect(outcome).toMatchObject({ applied: true, outcome: 'dead_lettered' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(wakes.length).toBe(beforeDeadLetter);
    await wakeAfter('a replay', () => worker.stepReplay({ stepId }));
    stop();
  });

  it('reconnects after the server terminates the LISTEN connection, and wakes again', async () => {
    const db = await database({ tag: true });
    const idle = await db.open();
    await idle.migrate();
    const producer = await db.open({ url: db.baseUrl });
    const { wakes, stop } = await listen(idle);
    // Every connection of the idle store (main, control, LISTEN), none of the producer's.
    const killed = await withClient(db.baseUrl, async (c) => {
      const { rows } = await c.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [
        db.schema,
      ]);
      return rows[0]!.n;
    });
    expect(killed).toBeGreaterThanOrEqual(1);
    await waitFor('the dropped connection to be reported', () => db.errors.length > 0, 5_000);
    expect(db.errors[0]!.errorClass).toBe('retryable');
    await waitFor('the watcher to notice', () => !idle.listening, 2_000).catch(() => undefined);
    await waitFor('the LISTEN connection to come back', () => idle.listening, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = wakes.length;
    const submittedAt = performance.now();
    await producer.stepSubmit(SUBMIT);
    await waitFor('a wake after reconnecting', () => wakes.length > before, 2_000);
    expect(wakes[before]! - submittedAt).toBeLessThan(200);
    stop();
  });

  it('tells a subscriber when LISTEN is up, when it drops and when it is back (the pod polls only in between)', async () => {
    const db = await database({ tag: true });
    const idle = await db.open();
    await idle.migrate();
    const states: boolean[] = [];
    const stop = idle.watchWork(
      () => undefined,
      (listening) => states.push(listening),
    );
    await waitFor('the LISTEN connection', () => states.length === 1, 5_000);
    expect(states).toEqual([true]);
    // A second subscriber joining a live listener hears so too.
    const late: boolean[] = [];
    const stopLate = idle.watchWork(
      () => undefined,
      (listening) => late.push(listening),
    );
    await waitFor('the late subscriber to hear', () => late.length === 1, 2_000);
    expect(late).toEqual([true]);
    await withClient(db.baseUrl, (c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [db.schema]));
    await waitFor('the drop and the reconnect', () => states.length >= 3, 10_000);
    expect(states.slice(0, 3)).toEqual([true, false, true]);
    stop();
    stopLate();
  });

  it('stops waking after unsubscribe, and unsubscribing twice is harmless', async () => {
    const db = await database();
    const idle = await db.open();
    await idle.migrate();
    const producer = await db.open();
    const { wakes, stop } = await listen(idle);
    stop();
    stop();
    expect(idle.listening).toBe(false);
    await producer.stepSubmit(SUBMIT);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wakes).toEqual([]);
  });
});
