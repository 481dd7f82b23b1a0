/**
 * Pods on PostgreSQL: the same runtime over the pg driver, woken by LISTEN/NOTIFY (the claim interval
 * is 30 s, so only a notification explains prompt claims), each step run once, the eldest leading,
 * and a drain releasing to the other pod. Uses the run's PostgreSQL (a schema of its own).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshSchema, requireTestDatabaseUrl } from '../support/postgres.js';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
let dropSchema: () => Promise<void>;

beforeEach(async () => {
  const url = await requireTestDatabaseUrl();
  const { schema, drop } = await freshSchema(url);
  dropSchema = drop;
  world = new PodWorld({ storageMode: 'postgres', databaseUrl: url, dbSchema: schema, claimIntervalSeconds: 30 });
});

afterEach(async () => {
  await world.close();
  await dropSchema();
});

describe('pods on PostgreSQL', () => {
  it('run each step once, woken by notifications, and drain to the other pod', async () => {
    await world.store(); // migrates the fresh schema before the pods race to
    const alpha = await world.startPod('alpha');
    const bravo = await world.startPod('bravo');
    await new Promise((resolve) => setTimeout(resolve, 200)); // both past their first (empty) claim
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await world.submit('work', { ms: 20 }));
    for (const id of ids) await world.waitForStatus(id, 'completed', 10_000);
    for (const id of ids) {
      const events = await world.events(id);
      expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'completed']);
      expect(events[1]!.ts - events[0]!.ts, `${id} claimed soon after submit`).toBeLessThan(2_000);
      expect(world.executionsOf(id)).toHaveLength(1);
    }
    await waitFor('alpha leads', () => alpha.health().isLeader);
    expect((await (await world.store()).leaderGet()).leader?.podId).toBe(alpha.podId);

    const stuck = await world.submit('abortable', {}, { priority: 5 });
    const holder = await waitFor('the step running', () => world.executionsOf(stuck)[0]?.pod);
    const [drained, other] = holder === 'alpha' ? [alpha, bravo] : [bravo, alpha];
    await drained.drain();
    await world.waitForStatus(stuck, 'completed', 10_000);
    const events = await world.events(stuck);
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'released', 'claimed', 'completed']);
    expect(events[2]!.podId).toBe(drained.podId);
    expect(events[4]!.podId).toBe(other.podId);
  });
});
