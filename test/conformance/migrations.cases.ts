/**
 * Conformance: migrations (DESIGN §2: versioned, additive, serialized across processes) and table
 * prefixes isolating queues that share one database. The schema-too-new guard needs a way to write a
 * newer version, which the `Store` interface does not offer; each driver's own tests cover it.
 * Must not depend on a driver's SQL or tables.
 */
import { describe, expect, it } from 'vitest';
import { T0, freshStores, mustGet, submit } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** Registers the migration and table-prefix cases for `factory`. */
export function describeMigrations(factory: StoreFactory): void {
  describe('migrations', () => {
    const open = freshStores(factory);

    it('migrates an empty database from version 0, and a second run changes nothing', async () => {
      const { store } = await open({ migrate: false });
      const first = await store.migrate();
      expect(first.from).toBe(0);
      expect(first.to).toBeGreaterThanOrEqual(1);
      const stepId = await submit(store);
      expect(await store.migrate()).toEqual({ from: first.to, to: first.to });
      expect((await mustGet(store, stepId)).status).toBe('pending');
    });

    it('serializes two instances migrating the same empty database at once', async () => {
      const { store, openPeer } = await open({ migrate: false });
      const peer = await openPeer({ migrate: false });
      const [a, b] = await Promise.all([store.migrate(), peer.migrate()]);
      expect(a.to).toBe(b.to);
      expect([a.from, b.from].sort((x, y) => x - y)).toEqual([0, a.to]);
      const stepId = await submit(peer);
      expect((await mustGet(store, stepId)).stepId).toBe(stepId);
    });

    it('keeps queues with different table prefixes in one database apart', async () => {
      const { store, openPeer } = await open({ tablePrefix: 'east_' });
      const west = await openPeer({ tablePrefix: 'west_' });
      const eastStep = await submit(store, { idempotencyKey: 'k', args: { side: 'east' } });
      const westStep = await submit(west, { idempotencyKey: 'k', args: { side: 'west' } });
      expect(westStep).not.toBe(eastStep);
      expect(await west.stepGet({ stepId: eastStep })).toBeNull();
      expect(await store.stepGet({ stepId: westStep })).toBeNull();
      expect((await store.queueStats({ now: T0 })).pending).toBe(1);
      expect((await west.eventList({})).map((e) => [e.stepId, e.kind])).toEqual([[westStep, 'submitted']]);
      const sameEast = await openPeer();
      expect((await mustGet(sameEast, eastStep)).args).toEqual({ side: 'east' });
    });
  });
}
