/**
 * Race property of the SQLite store: TWO store instances (two connections) on one file, and
 * fast-check's scheduler choosing the order in which concurrent pod actions reach the database: a
 * zombie pod completing claims it lost, two sweepers (one per connection) recovering them, two workers
 * claiming the same pending steps and reporting on them. Whatever the order: no step is claimed twice
 * at once, no claim is recovered twice, each attempt has at most one outcome, and the audit trail keeps
 * its invariants and still reproduces every row.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { ClaimedStepRow, PodMeta, Store, StepRow } from '../../src/store/store.js';
import { checkProperty, openTempStore, PROPERTY_POLICY, START_TS } from './harness.js';
import { checkTrail } from '../../src/testing/invariants.js';
import type { PodLogEntry } from './model.js';
import { readAllEvents } from './observe.js';

const META: PodMeta = { max_parallelism: 2, capacity: 2, in_flight: 0, version: 'test', host: 'localhost' };
const TYPES = ['race'];
/** 60 interleavings: about 2.5 s of CPU on a 2-core machine. */
const NUM_RUNS = 60;

interface RaceSetup {
  /** Steps submitted before the race. */
  readonly steps: number;
  readonly maxRetries: number;
  /** How many of them the zombie pod claimed before it stopped heartbeating. */
  readonly zombieClaims: number;
  /** The zombie heartbeats again just before the race: then nothing is orphaned and its writes must win. */
  readonly zombieAlive: boolean;
}

const setupArbitrary = fc
  .record({
    steps: fc.integer({ min: 2, max: 5 }),
    maxRetries: fc.integer({ min: 0, max: 2 }),
    zombieClaims: fc.integer({ min: 1, max: 2 }),
    zombieAlive: fc.boolean(),
  })
  .filter((s) => s.zombieClaims <= s.steps);

const raceProperty = fc.asyncProperty(fc.scheduler(), setupArbitrary, async (s, setup: RaceSetup) => {
  const temp = await openTempStore();
  try {
    const one = temp.store;
    const two = await temp.openAnother();
    const t0 = START_TS;
    const t1 = t0 + PROPERTY_POLICY.deadPodThresholdMs + 1;
    const podLog: PodLogEntry[] = [];
    for (const podId of ['zombie-00000000', 'worker-0000000b', 'worker-0000000c']) {
      await one.podRegister({ podId, name: podId.split('-')[0]!, meta: META, now: t0 });
      podLog.push({ podId, ts: t0, kind: 'up', seenEventId: 0 });
    }
    for (let i = 0; i < setup.steps; i++) {
      await one.stepSubmit({ type: 'race', args: { i }, maxRetries: setup.maxRetries, timeoutMs: 60_000, now: t0 });
    }
    const lost = await one.stepClaim({ podId: 'zombie-00000000', types: TYPES, limit: setup.zombieClaims, now: t0 });
    const seenEventId = (await readAllEvents(one)).at(-1)!.eventId;
    const beating = setup.zombieAlive ? ['zombie-00000000', 'worker-0000000b', 'worker-0000000c'] : ['worker-0000000b', 'worker-0000000c'];
    for (const podId of beating) {
      expect((await two.podHeartbeat({ podId, now: t1 })).ok).toBe(true);
      podLog.push({ podId, ts: t1, kind: 'heartbeat', seenEventId });
    }

    // Each action is a chain of statements; the scheduler decides when each statement may start.
    // `started` is the order in which the transactions committed: better-sqlite3 runs a sweep's
    // whole transaction synchronously when the method is called, so a sweep is pushed just before
    // its call; completions are coalesced and commit together at the end of the event-loop turn,
    // so a completion is pushed when its commit is reported, before any later call can run.
    const gate = (label: string) => s.schedule(Promise.resolve(label), label);
    const started: string[] = [];
    const zombie = Promise.all(
      lost.map(async (row) => {
        await gate(`zombie completes ${row.stepId}`);
        const write = await one.stepComplete({ stepId: row.stepId, podId: 'zombie-00000000', attempt: row.attempt, result: 'late', now: t1 });
        started.push(`zombie ${row.stepId}`);
        return { row, write };
      }),
    );
    const sweeper = (store: Store, podId: string) =>
      (async () => {
        await gate(`sweep by ${podId}`);
        started.push('sweep');
        return store.recoverySweep({ podId, now: t1 });
      })();
    const worker = (store: Store, podId: string, report: 'complete' | 'fail') =>
      (async () => {
        await gate(`claim by ${podId}`);
        const claimed = await store.stepClaim({ podId, types: TYPES, limit: 2, now: t1 });
        for (const row of claimed) {
          await gate(`${report} by ${podId}`);
          const ref = { stepId: row.stepId, podId, attempt: row.attempt, now: t1 };
          const write =
            report === 'complete'
              ? await store.stepComplete({ ...ref, result: podId })
              : await store.stepFail({ ...ref, error: 'boom', retryable: true, reason: 'error' });
          expect(write.applied, `${podId} reports on its own fresh claim of ${row.stepId}`).toBe(true);
        }
        return claimed;
      })();
    const [zombieWrites, sweepOne, sweepTwo, claimedB, claimedC] = await s.waitFor(
      Promise.all([
        zombie,
        sweeper(one, 'worker-0000000b'),
        sweeper(two, 'worker-0000000c'),
        worker(two, 'worker-0000000b', 'complete'),
        worker(one, 'worker-0000000c', 'fail'),
      ]),
    );

    const ids = (rows: readonly ClaimedStepRow[]) => rows.map((r) => r.stepId);
    expect(
      ids(claimedB).filter((id) => ids(claimedC).includes(id)),
      'steps claimed by both workers',
    ).toEqual([]);
    const recoveredOne = [...sweepOne.orphanedSteps];
    expect(
      recoveredOne.filter((id) => sweepTwo.orphanedSteps.includes(id)),
      'steps recovered by both sweepers',
    ).toEqual([]);
    const recovered = new Set([...recoveredOne, ...sweepTwo.orphanedSteps]);
    for (const { row, write } of zombieWrites) {
      // The zombie's late completion wins exactly when no sweep took its claim first, and a sweep
      // takes it exactly when it runs first and the zombie is dead.
      expect(write.applied, `zombie completion of ${row.stepId} vs recovery`).toBe(!recovered.has(row.stepId));
      const sweptFirst = started.indexOf('sweep') < started.indexOf(`zombie ${row.stepId}`);
      expect(write.applied, `zombie completion of ${row.stepId}, order ${started.join(', ')}`).toBe(setup.zombieAlive || !sweptFirst);
    }
    if (!setup.zombieAlive) expect(recovered.size + zombieWrites.filter((z) => z.write.applied).length).toBe(lost.length);

    const events = await readAllEvents(one);
    const outcomes = new Map<string, number>();
    for (const e of events) {
      if (['completed', 'retried', 'recovered', 'dead_lettered', 'released'].includes(e.kind)) {
        const key = `${e.stepId}@${e.attempt}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }
    expect(
      [...outcomes].filter(([, n]) => n > 1),
      'attempts with more than one outcome',
    ).toEqual([]);
    const rows = new Map<string, StepRow>();
    for (const id of new Set(events.map((e) => e.stepId))) rows.set(id, (await two.stepGet({ stepId: id }))!);
    const { violations, replayed } = checkTrail(events, {
      policy: PROPERTY_POLICY,
      maxRetries: (id) => rows.get(id)!.maxRetries,
      runAfterOf: () => undefined,
      podLog,
      final: false,
    });
    expect(violations, 'audit trail invariants').toEqual([]);
    for (const [id, row] of rows) {
      const { status, claimedBy, attempt, retryCount, lastError } = row;
      expect(replayed.get(id), `I13 replaying the events of ${id}`).toEqual({ status, claimedBy, attempt, retryCount, lastError });
    }
  } finally {
    await temp.dispose();
  }
});

it('concurrent claims, zombie completions and sweeps on two connections never double-claim or double-recover', async () => {
  await checkProperty('store race property', 'test/property/store.races.test.ts', () => raceProperty, NUM_RUNS);
}, 300_000);
