/**
 * Three pods on one SQLite file, no faults: every step runs exactly once (audit trail and handler log
 * agree), no pod exceeds its capacity, the eldest pod leads, and an idle pod picks new work up through
 * `watchWork` long before its claim interval would poll.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('pods without faults', () => {
  it('run each step exactly once across three pods, within capacity, led by the eldest', async () => {
    world = new PodWorld();
    const pods = [];
    for (const name of ['alpha', 'bravo', 'charlie']) pods.push(await world.startPod(name));
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await world.submit('work', { ms: 15 + (i % 4) * 10 }));
    for (const id of ids) await world.waitForStatus(id, 'completed');

    for (const id of ids) {
      const events = await world.events(id);
      expect(
        events.map((e) => e.kind),
        id,
      ).toEqual(['submitted', 'claimed', 'completed']);
      const [, claimed, completed] = events;
      expect(completed!.podId).toBe(claimed!.podId);
      const runs = world.executionsOf(id);
      expect(runs, `handler runs of ${id}`).toHaveLength(1);
      expect(runs[0]!.attempt).toBe(1);
      expect(runs[0]!.idempotencyKey).toBe(id);
      // The handler ran on the pod the audit trail names (pod ids are `<name>-<8 hex>`).
      expect(claimed!.podId).toMatch(new RegExp(`^${runs[0]!.pod}-[0-9a-f]{8}$`));
    }

    // Capacity 2 per pod: no instant saw three handlers of one pod running.
    for (const pod of ['alpha', 'bravo', 'charlie']) {
      const runs = world.executions.filter((e) => e.pod === pod);
      for (const run of runs) {
        const overlapping = runs.filter((o) => o.startedAt <= run.startedAt && (o.endedAt ?? Infinity) > run.startedAt);
        expect(overlapping.length, `${pod} at ${run.startedAt}`).toBeLessThanOrEqual(2);
      }
    }

    const [alpha, bravo, charlie] = pods as [(typeof pods)[0], (typeof pods)[0], (typeof pods)[0]];
    await waitFor('alpha leads', () => alpha.health().isLeader);
    const leader = await (await world.store()).leaderGet();
    expect(leader.leader?.podId).toBe(alpha.podId);
    expect(bravo.health().isLeader).toBe(false);
    expect(charlie.health().isLeader).toBe(false);
    for (const pod of pods) {
      const health = pod.health();
      expect(health.status).toBe('healthy');
      expect(health.capacity).toBe(2);
      expect(health.inFlight).toBe(0);
      expect(health.lastLeaderCheck).not.toBeNull();
    }
    expect(world.logged('step.completed')).toHaveLength(30);
    expect(world.unknownEventNames()).toEqual([]);
    expect(world.logged('step.completed')[0]).toMatchObject({
      step_id: expect.any(String),
      attempt: 1,
      pod_id: expect.any(String),
      duration_ms: expect.any(Number),
    });
  });

  it('wakes an idle pod through watchWork, not its claim interval', async () => {
    world = new PodWorld();
    // A 30 s claim interval: only a wake-up can explain a claim within a second.
    await world.startPod('alpha', { claimIntervalSeconds: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the first (empty) claim pass
    const id = await world.submit('work', { ms: 0 });
    await world.waitForStatus(id, 'completed', 5_000);
    const [submitted, claimed] = await world.events(id);
    expect(claimed!.kind).toBe('claimed');
    expect(claimed!.ts - submitted!.ts).toBeLessThan(1_000);
  });

  it('registers as <name>-<8 hex>, heartbeats with its meta, and reports healthy', async () => {
    world = new PodWorld();
    const pod = await world.startPod('alpha');
    expect(pod.podId).toMatch(/^alpha-[0-9a-f]{8}$/);
    const store = await world.store();
    const before = (await store.podList()).find((p) => p.podId === pod.podId)!;
    await waitFor('a later heartbeat', async () => (await store.podList()).find((p) => p.podId === pod.podId)!.lastHeartbeatTs > before.lastHeartbeatTs);
    const row = (await store.podList()).find((p) => p.podId === pod.podId)!;
    expect(row).toMatchObject({ name: 'alpha', status: 'up', live: true });
    expect(row.meta).toMatchObject({ max_parallelism: 2, capacity: 2, in_flight: 0 });
    expect(pod.health()).toMatchObject({ podId: pod.podId, status: 'healthy', capacity: 2 });
    expect(pod.registry?.types()).toEqual(expect.arrayContaining(['echo', 'sleep', 'fail', 'work', 'hold']));
  });
});
