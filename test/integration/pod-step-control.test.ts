/**
 * Step control with real pods (issue 14): a running step cancelled through the store is never
 * completed — its handler's signal aborts with reason `cancelled` within the claim interval, its
 * later write is rejected as stale, the audit trail shows `cancelled`, and its slot is freed — also
 * when the handler ignores the signal and returns a result afterwards. `ctx.progress` reaches the row
 * and `ctx.extend` keeps a step alive past its timeout_ms. On SQLite, and on PostgreSQL when reachable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freshSchema, testDatabaseUrl } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { gate, PodWorld } from './pod-harness.js';

/** The cancel check runs once per claim interval; the bound asserted leaves a loaded machine 2.5 s more. */
const CLAIM_INTERVAL_SECONDS = 0.5;
const CANCEL_BOUND_MS = CLAIM_INTERVAL_SECONDS * 1000 + 2_500;

const pgUrl = await testDatabaseUrl();
const STORES = [{ name: 'sqlite' }, ...(pgUrl === undefined ? [] : [{ name: 'postgres' }])];

for (const { name } of STORES) {
  describe(`step control on ${name}`, () => {
    let world: PodWorld;
    let dropSchema: () => Promise<void> = async () => undefined;

    async function openWorld(): Promise<PodWorld> {
      if (name === 'postgres') {
        const { schema, drop } = await freshSchema(pgUrl!);
        dropSchema = drop;
        world = new PodWorld({ storageMode: 'postgres', databaseUrl: pgUrl!, dbSchema: schema, claimIntervalSeconds: CLAIM_INTERVAL_SECONDS });
      } else {
        world = new PodWorld({ claimIntervalSeconds: CLAIM_INTERVAL_SECONDS });
      }
      await world.store();
      return world;
    }

    afterEach(async () => {
      await world.close();
      await dropSchema();
    });

    it('a cancelled running step never completes: its handler sees the abort, its write is stale, its slot is freed', async () => {
      await openWorld();
      const pod = await world.startPod('alpha', { maxParallelism: 1 });
      const running = await world.submit('work', { ms: 60_000 });
      const exec = await waitFor('the step running', () => world.executionsOf(running)[0]);
      const store = await world.store();
      const cancelledAt = Date.now();
      const { previousStatus } = await store.stepCancel({ stepId: running });
      expect(previousStatus).toBe('claimed');

      await waitFor('the handler aborted', () => exec.abortedAt !== undefined, CANCEL_BOUND_MS + 5_000);
      expect(exec.abortReason).toBe('step aborted: cancelled');
      expect(exec.abortedAt! - cancelledAt, 'cancel heard within the claim interval plus margin').toBeLessThan(CANCEL_BOUND_MS);
      await waitFor('the stale write recorded', async () => (await world.kinds(running)).includes('stale_write_rejected'));
      expect(await world.kinds(running)).toEqual(['submitted', 'claimed', 'cancelled', 'stale_write_rejected']);
      const stale = (await world.events(running)).at(-1)!;
      expect(stale).toMatchObject({ podId: pod.podId, attempt: 1, detail: { write: 'fail', status: 'cancelled' } });

      // The one slot is free again: the next step runs and completes.
      const next = await world.submit('work', { ms: 0 });
      await world.waitForStatus(next, 'completed');
      expect(await store.stepGet({ stepId: running })).toMatchObject({ status: 'cancelled', result: null, attempt: 1 });
      expect(world.executionsOf(running)).toHaveLength(1);
    });

    it('a handler that ignores the abort and returns later still never completes the step', async () => {
      await openWorld();
      await world.startPod('alpha', { maxParallelism: 1 });
      // Delayed, so the gate is in place before the pod can claim the step.
      const held = await world.submit('hold', {}, { delayMs: 300 });
      const g = gate();
      world.gates.set(held, g);
      const exec = await waitFor('the step running', () => world.executionsOf(held)[0]);
      await (await world.store()).stepCancel({ stepId: held });
      await waitFor('the handler aborted', () => exec.abortedAt !== undefined, CANCEL_BOUND_MS + 5_000);
      g.open();
      await waitFor('the stale completion recorded', async () => (await world.kinds(held)).includes('stale_write_rejected'));
      expect(await world.kinds(held)).toEqual(['submitted', 'claimed', 'cancelled', 'stale_write_rejected']);
      expect((await world.events(held)).at(-1)!.detail).toMatchObject({ write: 'complete', status: 'cancelled' });
      expect(await (await world.store()).stepGet({ stepId: held })).toMatchObject({ status: 'cancelled', result: null });
    });

    it('ctx.progress reaches the row while the step runs; ctx.extend keeps it past its timeout_ms', async () => {
      await openWorld();
      await world.startPod('alpha');
      const store = await world.store();
      const progressing = await world.submit('progressing', { ticks: 30, everyMs: 50 });
      const seen = await waitFor('progress stored', async () => (await store.stepGet({ stepId: progressing }))?.progress ?? undefined, 10_000);
      expect(seen).toMatchObject({ tick: expect.any(Number) });
      await world.waitForStatus(progressing, 'completed');
      const done = await store.stepGet({ stepId: progressing });
      // Written at most once a second, so the last ticks before completion may never be.
      expect((done!.progress as { tick: number }).tick).toBeGreaterThanOrEqual(1);
      expect(await world.kinds(progressing)).toEqual(['submitted', 'claimed', 'completed']);

      // Same work and timeout: without the extension it times out, with it it completes.
      const plain = await world.submit('work', { ms: 1_500 }, { timeoutMs: 500, maxRetries: 0 });
      const extended = await world.submit('extending', { ms: 1_500, extendMs: 20_000 }, { timeoutMs: 500, maxRetries: 0 });
      await world.waitForStatus(plain, 'failed');
      await world.waitForStatus(extended, 'completed');
      expect(await world.kinds(extended)).toEqual(['submitted', 'claimed', 'completed']);
      expect((await store.stepGet({ stepId: plain }))!.lastError).toMatch(/timed out/);
    });
  });
}
