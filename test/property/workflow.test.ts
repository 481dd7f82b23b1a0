/**
 * Workflow property (SQLite, and MySQL when its server answers): a random small DAG (each step's
 * parents drawn among earlier items of one batch) runs to rest under a worker that claims whatever
 * is claimable and fails the steps of a random set (not retryable). Whatever the DAG and the set:
 * no step is claimed before every parent completed; at rest a step is `failed` exactly when it or an
 * ancestor is in the set (a cascaded one never ran), else `completed`; the audit trail keeps its
 * invariants and reproduces every row. Replaying the failing steps that failed themselves, with
 * failures switched off, then completes the whole DAG.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTrail } from '../../src/testing/invariants.js';
import type { DependencyRef, PodMeta, Store, StepEvent } from '../../src/store/store.js';
import { checkProperty, PROPERTY_POLICY, propertyStores, START_TS } from './harness.js';
import type { PodLogEntry } from './model.js';
import { readAllEvents } from './observe.js';

const FILE = 'test/property/workflow.test.ts';
const POD = 'worker-0000000a';
const META: PodMeta = { max_parallelism: 4, capacity: 4, in_flight: 0, version: 'test', host: 'localhost' };
/** 40 DAGs of up to 8 steps: about 2 s on SQLite on a loaded 2-core machine. */
const NUM_RUNS = 40;

interface Dag {
  /** Parents of each item, by index (each < the item's own). */
  readonly parents: readonly (readonly number[])[];
  /** Items whose handler fails. */
  readonly failing: readonly boolean[];
}

const dagArbitrary: fc.Arbitrary<Dag> = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    parents: fc.tuple(
      ...Array.from({ length: n }, (_, i) => (i === 0 ? fc.constant([]) : fc.uniqueArray(fc.nat({ max: i - 1 }), { maxLength: Math.min(i, 3) }))),
    ),
    failing: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
  }),
);

/** Claims and reports until nothing is claimable; the clock moves 1 ms per write. */
async function runToRest(store: Store, clock: { t: number }, fails: (stepId: string) => boolean): Promise<void> {
  for (;;) {
    const claimed = await store.stepClaim({ podId: POD, types: ['wf'], limit: 4, now: clock.t++ });
    if (claimed.length === 0) return;
    for (const step of claimed) {
      const ref = { stepId: step.stepId, podId: POD, attempt: step.attempt, now: clock.t++ };
      if (fails(step.stepId)) await store.stepFail({ ...ref, error: 'boom', retryable: false, reason: 'error' });
      else await store.stepComplete({ ...ref, result: { id: step.stepId } });
    }
  }
}

/** `failed` exactly for failing items and their descendants. */
function expectedFailed(dag: Dag): boolean[] {
  const failed: boolean[] = [];
  dag.parents.forEach((parents, i) => failed.push(dag.failing[i]! || parents.some((p) => failed[p])));
  return failed;
}

function expectGatesHeld(events: readonly StepEvent[], parentsOf: ReadonlyMap<string, readonly string[]>): void {
  const completedAt = new Map<string, number>();
  for (const e of events) {
    if (e.kind === 'completed') completedAt.set(e.stepId, e.eventId);
    if (e.kind !== 'claimed') continue;
    for (const parent of parentsOf.get(e.stepId) ?? []) {
      const done = completedAt.get(parent);
      expect(done !== undefined && done < e.eventId, `${e.stepId} claimed (event ${e.eventId}) before its parent ${parent} completed`).toBe(true);
    }
  }
}

async function checkTrailOf(store: Store, podLog: PodLogEntry[]): Promise<void> {
  const events = await readAllEvents(store);
  const rows = new Map<string, Awaited<ReturnType<Store['stepGet']>>>();
  for (const id of new Set(events.map((e) => e.stepId))) rows.set(id, await store.stepGet({ stepId: id }));
  const { violations, replayed } = checkTrail(events, {
    policy: PROPERTY_POLICY,
    maxRetries: (id) => rows.get(id)!.maxRetries,
    runAfterOf: () => undefined,
    podLog,
    final: false,
  });
  expect(violations, 'audit trail invariants').toEqual([]);
  for (const [id, row] of rows) {
    const { status, claimedBy, attempt, retryCount, lastError } = row!;
    expect(replayed.get(id), `replaying the events of ${id}`).toEqual({ status, claimedBy, attempt, retryCount, lastError });
  }
}

const stores = await propertyStores(FILE);

describe.each(stores)('workflows on $name', ({ open, numRuns }) => {
  const property = fc.asyncProperty(dagArbitrary, async (dag) => {
    const temp = await open();
    try {
      const store = temp.store;
      const clock = { t: START_TS };
      await store.podRegister({ podId: POD, name: 'worker', meta: META, now: clock.t });
      const podLog: PodLogEntry[] = [{ podId: POD, ts: clock.t++, kind: 'up', seenEventId: 0 }];
      const { results } = await store.stepSubmitBatch({
        steps: dag.parents.map((parents, i) => ({
          type: 'wf',
          args: { i },
          maxRetries: 2,
          timeoutMs: 60_000,
          dependsOn: parents.map((index): DependencyRef => ({ index })),
        })),
        now: clock.t++,
      });
      const ids = results.map((r) => r.stepId);
      const parentsOf = new Map(ids.map((id, i) => [id, dag.parents[i]!.map((p) => ids[p]!)]));
      const failingIds = new Set(ids.filter((_, i) => dag.failing[i]));
      let failuresOn = true;
      await runToRest(store, clock, (id) => failuresOn && failingIds.has(id));

      const failed = expectedFailed(dag);
      const rows = await Promise.all(ids.map((stepId) => store.stepGet({ stepId })));
      expect(rows.map((r) => r!.status)).toEqual(failed.map((f) => (f ? 'failed' : 'completed')));
      rows.forEach((row, i) => {
        // A cascaded step never ran; its gate stays shut behind the failed ancestor.
        if (failed[i] && !dag.failing[i]) expect(row).toMatchObject({ attempt: 0, waitingOn: expect.any(Number) as number });
        if (failed[i] && !dag.failing[i]) expect(row!.waitingOn).toBeGreaterThan(0);
      });
      expectGatesHeld(await readAllEvents(store), parentsOf);
      await checkTrailOf(store, podLog);

      // Replay the steps that failed themselves: with failures off, everything completes.
      failuresOn = false;
      for (const [i, id] of ids.entries()) {
        if (!dag.failing[i]) continue;
        const row = await store.stepGet({ stepId: id });
        // A failing step below another failing one was cascaded (never ran) and revived by that replay.
        if (row!.status === 'failed' && row!.waitingOn === 0) await store.stepReplay({ stepId: id, now: clock.t++ });
      }
      await runToRest(store, clock, () => false);
      const after = await Promise.all(ids.map((stepId) => store.stepGet({ stepId })));
      expect(after.map((r) => r!.status)).toEqual(ids.map(() => 'completed'));
      expectGatesHeld(await readAllEvents(store), parentsOf);
      await checkTrailOf(store, podLog);
    } finally {
      await temp.dispose();
    }
  });

  it('gates hold, dead-letterings fail exactly the descendants, replays revive them', async () => {
    await checkProperty('workflow property', FILE, () => property, numRuns(NUM_RUNS));
  }, 300_000);
});
