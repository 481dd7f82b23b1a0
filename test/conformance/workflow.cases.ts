/**
 * Conformance: workflows (issue #14 part b). A step with `dependsOn` stays pending behind its gate
 * until every parent completed; a completion opens the gates of children whose parents all
 * completed (also in `stepCompleteMany`); a parent's dead-lettering fails exactly its pending
 * descendants, transitively, naming it; replaying the parent revives exactly those; bad DAGs are
 * refused before any write; the sweep and drain never touch a gated step. Must not depend on a
 * driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../src/errors.js';
import type { ClaimedStepRow, DependencyRef, Store } from '../../src/store/store.js';
import { POD_A, POD_B, POLICY, T0, allEvents, claimAll, freshStores, lastEvent, mustGet, registerPod, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

const base = { type: 'echo', args: {}, maxRetries: 0, timeoutMs: 900_000 } as const;

/** Submits `dependsOn` lists as one batch; returns the ids in order. */
async function batch(store: Store, deps: readonly (readonly DependencyRef[])[], now = T0): Promise<string[]> {
  const r = await store.stepSubmitBatch({ steps: deps.map((d, i) => ({ ...base, args: { i }, dependsOn: d })), now });
  return r.results.map((x) => x.stepId);
}

/** Claims exactly `ids` (in any order) at `now`. */
async function claimExactly(store: Store, now: number, ids: readonly string[]): Promise<ClaimedStepRow[]> {
  const rows = await claimAll(store, POD_A, now);
  expect(rows.map((r) => r.stepId).sort()).toEqual([...ids].sort());
  return rows;
}

async function completeAll(store: Store, rows: readonly ClaimedStepRow[], now: number): Promise<void> {
  for (const r of rows) {
    const out = await store.stepComplete({ stepId: r.stepId, podId: POD_A, attempt: r.attempt, result: { done: r.stepId }, now });
    expect(out.applied).toBe(true);
  }
}

async function statuses(store: Store, ids: readonly string[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await mustGet(store, id)).status));
}

/**
 * root → a → (a1, a2 → a2x); root → b. `a` is the failing middle node: its descendants are a1, a2,
 * a2x (three levels below root); b is a sibling branch and must be untouched.
 */
async function threeLevels(store: Store) {
  const [root, a, b, a1, a2, a2x] = await batch(store, [[], [{ index: 0 }], [{ index: 0 }], [{ index: 1 }], [{ index: 1 }], [{ index: 4 }, { index: 2 }]]);
  return { root: root!, a: a!, b: b!, a1: a1!, a2: a2!, a2x: a2x! };
}

/** Registers the workflow cases for `factory`. */
export function describeWorkflow(factory: StoreFactory): void {
  describe('workflows', () => {
    const open = freshStores(factory);

    it('keeps a child pending and unclaimable until every parent completed, then opens its gate in the completing transaction', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const [p1, p2, child] = await batch(store, [[], [], [{ index: 0 }, { index: 1 }]]);
      expect(await mustGet(store, child!)).toMatchObject({ status: 'pending', dependsOn: [p1, p2], waitingOn: 2 });
      const parents = await claimExactly(store, T0, [p1!, p2!]);
      await completeAll(store, parents.slice(0, 1), T0 + 1);
      expect(await mustGet(store, child!)).toMatchObject({ status: 'pending', waitingOn: 1 });
      expect(await claimAll(store, POD_A, T0 + 2)).toEqual([]);
      await completeAll(store, parents.slice(1), T0 + 3);
      expect((await mustGet(store, child!)).waitingOn).toBe(0);
      const [claimed] = await claimExactly(store, T0 + 4, [child!]);
      expect(await store.stepParentResults({ stepId: child! })).toEqual({ [p1!]: { done: p1 }, [p2!]: { done: p2 } });
      expect(await store.stepParentResults({ stepId: p1! })).toEqual({});
      expect(claimed!.dependsOn).toEqual([p1, p2]);
    });

    it('opens gates from stepCompleteMany, and accepts existing step ids (completed or not) as parents', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const done = await submit(store);
      const [claimedDone] = await claimExactly(store, T0, [done]);
      await completeAll(store, [claimedDone!], T0 + 1);
      const [p, child] = await batch(store, [[], [done, { index: 0 }, done]], T0 + 2);
      expect(await mustGet(store, child!)).toMatchObject({ dependsOn: [done, p], waitingOn: 1 });
      const [claimedP] = await claimExactly(store, T0 + 3, [p!]);
      const results = await store.stepCompleteMany({ items: [{ stepId: p!, podId: POD_A, attempt: claimedP!.attempt, result: 7, now: T0 + 4 }] });
      expect(results[0]!.applied).toBe(true);
      await claimExactly(store, T0 + 5, [child!]);
      expect(await store.stepParentResults({ stepId: child! })).toEqual({ [done]: { done }, [p!]: 7 });
    });

    it('counts both parents of one child completed in the same stepCompleteMany call', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const [p1, p2, child] = await batch(store, [[], [], [{ index: 0 }, { index: 1 }]]);
      const parents = await claimExactly(store, T0, [p1!, p2!]);
      const items = parents.map((r) => ({ stepId: r.stepId, podId: POD_A, attempt: r.attempt, result: r.stepId, now: T0 + 1 }));
      expect((await store.stepCompleteMany({ items })).every((r) => r.applied)).toBe(true);
      expect(await mustGet(store, child!)).toMatchObject({ status: 'pending', waitingOn: 0 });
      await claimExactly(store, T0 + 2, [child!]);
    });

    it('fails exactly the pending descendants of a dead-lettered step (three levels), naming it, in one transaction with events', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const g = await threeLevels(store);
      await completeAll(store, await claimExactly(store, T0, [g.root]), T0 + 1);
      const middle = await claimExactly(store, T0 + 2, [g.a, g.b]);
      const a = middle.find((r) => r.stepId === g.a)!;
      const out = await store.stepFail({ stepId: g.a, podId: POD_A, attempt: a.attempt, error: 'boom', retryable: false, reason: 'error', now: T0 + 3 });
      expect(out).toMatchObject({ applied: true, outcome: 'dead_lettered' });
      expect(await statuses(store, [g.root, g.a, g.b, g.a1, g.a2, g.a2x])).toEqual(['completed', 'failed', 'claimed', 'failed', 'failed', 'failed']);
      for (const id of [g.a1, g.a2, g.a2x]) {
        const row = await mustGet(store, id);
        expect(row.lastError).toContain(g.a);
        expect(row.lastUpdateTs).toBe(T0 + 3);
        const event = await lastEvent(store, id);
        expect(event).toMatchObject({ kind: 'dead_lettered', podId: POD_A, ts: T0 + 3 });
        expect(event.detail).toMatchObject({ reason: 'parent_failed', parent_step_id: g.a });
      }
      // b completes later; a2x still failed (its other parent a2 failed) and stays so.
      await completeAll(
        store,
        middle.filter((r) => r.stepId === g.b),
        T0 + 4,
      );
      expect((await mustGet(store, g.a2x)).status).toBe('failed');
      expect((await store.dlqList({ limit: 10, offset: 0 })).total).toBe(4);
    });

    it('revives exactly the cascaded descendants when the parent is replayed, gated again, and they then run', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const g = await threeLevels(store);
      await completeAll(store, await claimExactly(store, T0, [g.root]), T0 + 1);
      const middle = await claimExactly(store, T0 + 2, [g.a, g.b]);
      await store.stepFail({
        stepId: g.a,
        podId: POD_A,
        attempt: middle.find((r) => r.stepId === g.a)!.attempt,
        error: 'boom',
        retryable: false,
        reason: 'error',
        now: T0 + 3,
      });
      const before = (await allEvents(store)).length;
      await store.stepReplay({ stepId: g.a, now: T0 + 10 });
      expect(await statuses(store, [g.a, g.a1, g.a2, g.a2x])).toEqual(['pending', 'pending', 'pending', 'pending']);
      const events = (await allEvents(store)).slice(before);
      expect(events.map((e) => [e.stepId, e.kind]).sort()).toEqual([g.a, g.a1, g.a2, g.a2x].map((id) => [id, 'replayed']).sort());
      expect(events.find((e) => e.stepId === g.a1)!.detail).toMatchObject({ reason: 'parent_replayed', parent_step_id: g.a });
      expect(await mustGet(store, g.a2x)).toMatchObject({ waitingOn: 2, retryCount: 0 });
      // Gated again: only a is claimable; then the whole branch runs to completion.
      await completeAll(store, await claimExactly(store, T0 + 11, [g.a]), T0 + 12);
      await completeAll(store, await claimExactly(store, T0 + 13, [g.a1, g.a2]), T0 + 14);
      expect(await claimAll(store, POD_A, T0 + 15)).toEqual([]);
      await completeAll(
        store,
        middle.filter((r) => r.stepId === g.b),
        T0 + 16,
      );
      await completeAll(store, await claimExactly(store, T0 + 17, [g.a2x]), T0 + 18);
      expect(await statuses(store, [g.root, g.a, g.b, g.a1, g.a2, g.a2x])).toEqual(Array(6).fill('completed'));
    });

    it('cascades from the recovery sweep and from a release past the cap too', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      await registerPod(store, POD_B, T0 + 30_000);
      const [p, child] = await batch(store, [[], [{ index: 0 }]]);
      await claimExactly(store, T0, [p!]);
      const summary = await store.recoverySweep({ podId: POD_B, now: T0 + POLICY.deadPodThresholdMs });
      expect(summary.deadLettered).toEqual([p]);
      expect(await mustGet(store, child!)).toMatchObject({ status: 'failed', lastError: expect.stringContaining(p!) as string });
      expect(await lastEvent(store, child!)).toMatchObject({ kind: 'dead_lettered', podId: POD_B });
      const [q, qChild] = await batch(store, [[], [{ index: 0 }]], T0 + 70_000);
      await registerPod(store, POD_A, T0 + 70_000);
      let t = T0 + 70_001;
      for (;;) {
        const rows = await store.stepClaim({ podId: POD_A, types: ['echo'], limit: 10, now: t });
        expect(rows.map((r) => r.stepId)).toEqual([q]);
        const out = await store.stepRelease({ stepId: q!, podId: POD_A, attempt: rows[0]!.attempt, now: t + 1 });
        t += 2;
        if (out.applied && out.outcome === 'dead_lettered') break;
        expect(out.applied && out.outcome).not.toBe('retried');
      }
      expect(await mustGet(store, qChild!)).toMatchObject({ status: 'failed', lastError: expect.stringContaining(q!) as string });
    });

    it('never claims, recovers or releases a gated step: the sweep leaves it exactly as it was', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const submitted = await store.stepSubmitBatch({
        steps: [
          { ...base, maxRetries: 3 },
          { ...base, dependsOn: [{ index: 0 }] },
        ],
        now: T0,
      });
      const [p, child] = submitted.results.map((r) => r.stepId);
      const gated = await mustGet(store, child!);
      await claimExactly(store, T0, [p!]);
      const summary = await store.recoverySweep({ now: T0 + 10 * POLICY.deadPodThresholdMs });
      expect(summary.requeued).toEqual([p]);
      expect(await mustGet(store, child!)).toEqual(gated);
      expect(await store.stepRelease({ stepId: child!, podId: POD_A, attempt: 0, now: T0 + 1 })).toEqual({ applied: false, outcome: 'stale' });
      expect(await mustGet(store, child!)).toMatchObject({ status: 'pending', waitingOn: 1 });
      expect((await store.queueAge({ now: T0 + 20 })).byPriority).toEqual([]);
    });

    it('refuses cycles, self and forward references, unknown and dead-lettered parents, writing nothing', async () => {
      const { store } = await open();
      await registerPod(store, POD_A);
      const refuse = async (deps: DependencyRef[][], kind: typeof ValidationError | typeof ConflictError, names: RegExp) => {
        const err = await batch(store, deps).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(kind);
        expect(JSON.stringify({ message: (err as Error).message, errors: (err as ValidationError).errors })).toMatch(names);
      };
      await refuse([[{ index: 1 }], [{ index: 0 }], []], ValidationError, /cycle[^"]*items 0, 1/);
      await refuse([[], [{ index: 1 }]], ValidationError, /"1\.dependsOn\.0"[^}]*itself/);
      await refuse([[{ index: 1 }], []], ValidationError, /"0\.dependsOn"[^}]*later item 1/);
      await refuse([[], ['step_doesnotexist0000000000']], ValidationError, /1\.dependsOn[^}]*step_doesnotexist/);
      await expect(store.stepSubmit({ ...base, dependsOn: [{ index: 0 }] })).rejects.toBeInstanceOf(ValidationError);
      expect(await allEvents(store)).toEqual([]);
      const dead = await submit(store, { maxRetries: 0 });
      const [row] = await claimExactly(store, T0, [dead]);
      await store.stepFail({ stepId: dead, podId: POD_A, attempt: row!.attempt, error: 'x', retryable: false, reason: 'error', now: T0 + 1 });
      const count = (await allEvents(store)).length;
      await refuse([[], [dead]], ConflictError, new RegExp(dead));
      expect((await allEvents(store)).length).toBe(count);
    });

    it('shows the graph reachable from any of its steps, with each node and edge', async () => {
      const { store } = await open();
      const g = await threeLevels(store);
      const lonely = await submit(store);
      const all = [g.root, g.a, g.b, g.a1, g.a2, g.a2x].sort();
      for (const from of [g.root, g.a2x, g.b]) {
        const graph = await store.workflowGraph({ stepId: from });
        expect(graph!.nodes.map((n) => n.stepId)).toEqual(all);
        expect(graph!.truncated).toBe(false);
        expect(graph!.edges.map((e) => `${e.stepId}<-${e.parentStepId}`).sort()).toEqual(
          [`${g.a}<-${g.root}`, `${g.b}<-${g.root}`, `${g.a1}<-${g.a}`, `${g.a2}<-${g.a}`, `${g.a2x}<-${g.a2}`, `${g.a2x}<-${g.b}`].sort(),
        );
      }
      expect((await store.workflowGraph({ stepId: g.root, limit: 2 }))!.truncated).toBe(true);
      expect(await store.workflowGraph({ stepId: lonely })).toMatchObject({ nodes: [{ stepId: lonely }], edges: [] });
      expect(await store.workflowGraph({ stepId: 'step_unknown000000000000000' })).toBeNull();
    });
  });
}
