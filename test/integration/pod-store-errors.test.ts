/**
 * Database failures never crash a pod: every failed store call becomes a fact (a missed beat, a failed
 * claim, a failed registration), is counted by class, and the pod fences itself when liveness can no
 * longer be proven. Retryable failures come from a file really locked by another connection (the pod's
 * store gives up on a busy file after 150 ms instead of 5 s); fatal ones from a store closed under it.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { storePolicyOf } from '../../src/config/config.js';
import { createMetrics } from '../../src/metrics.js';
import { openSqliteStore } from '../../src/store/sqlite/driver.js';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('a pod whose database fails', () => {
  it('turns retryable errors into missed beats, fences, and re-registers once the file is free', async () => {
    world = new PodWorld();
    await world.store(); // migrated
    const config = world.config();
    const podStore = await openSqliteStore({
      path: world.dbPath,
      policy: storePolicyOf(config),
      busyRetry: { deadlineMs: 150, minDelayMs: 2, maxDelayMs: 20 },
    });
    const metrics = createMetrics();
    try {
      const pod = await world.startPod('alpha', {}, { store: podStore, metrics });
      const oldId = pod.podId!;
      const locker = new Database(world.dbPath);
      const lockedAt = Date.now();
      locker.exec('BEGIN EXCLUSIVE');
      try {
        // One miss, not two: each miss waits out the 150 ms busy deadline, so under load the 0.55 s fence
        // window can close after the first, and a fenced pod beats no more (a Node 24 CI run waited 5 s).
        await waitFor('a missed heartbeat', () => world.logged('heartbeat.missed').length >= 1, 5_000);
        expect(world.logged('heartbeat.missed')[0]).toMatchObject({ level: 'warn', pod_id: oldId, error: expect.stringContaining('sqlite') });
        await waitFor('the fence', () => world.logged('pod.fenced').length === 1, 5_000);
        // Missed beats alone do not fence: only the window (0.55 s after the last confirmed beat, ≤ 0.1 s before the lock) does.
        expect(Date.now() - lockedAt).toBeGreaterThanOrEqual(400);
        const order = world.logLines.map((l) => l['event']);
        expect(order.indexOf('heartbeat.missed')).toBeLessThan(order.indexOf('pod.fenced'));
        expect(world.logged('heartbeat.lost')).toEqual([expect.objectContaining({ reason: 'deadline' })]);
        await waitFor('a failed registration', () => world.logged('pod.register_failed').length >= 1, 5_000);
        expect(pod.health().status).toBe('unhealthy');
      } finally {
        locker.exec('COMMIT');
        locker.close();
      }
      const newId = await waitFor('a new incarnation', () => (pod.podId !== oldId ? pod.podId : undefined), 5_000);
      expect(world.unknownEventNames()).toEqual([]);
      expect(newId).toMatch(/^alpha-[0-9a-f]{8}$/);
      await waitFor('healthy again', () => pod.health().status === 'healthy');
      const counted = await metrics.registry.getSingleMetricAsString('fleet_q_store_errors_total');
      expect(counted).toMatch(/fleet_q_store_errors_total\{operation="podHeartbeat",error_class="retryable"\} [1-9]/);
      expect(counted).toMatch(/fleet_q_store_errors_total\{operation="podRegister",error_class="retryable"\} [1-9]/);
      const id = await world.submit('work', { ms: 0 });
      await world.waitForStatus(id, 'completed');
      await pod.stop();
    } finally {
      await podStore.close();
    }
  });

  it('keeps running when its store fails for good: failures are facts, it fences and keeps trying to register', async () => {
    world = new PodWorld();
    await world.store();
    const podStore = await openSqliteStore({ path: world.dbPath, policy: storePolicyOf(world.config()) });
    const pod = await world.startPod('alpha', {}, { store: podStore });
    const id = await world.submit('abortable');
    await waitFor('the step running', () => world.executionsOf(id).length === 1);

    await podStore.close();
    await waitFor('the fence', () => world.logged('pod.fenced').length === 1, 5_000);
    await waitFor('registration retried', () => world.logged('pod.register_failed').length >= 2, 5_000);
    expect(world.logged('heartbeat.missed').length).toBeGreaterThan(0);
    expect(world.executionsOf(id)[0]!.abortReason).toBe('step aborted: fenced');
    expect(pod.health().status).toBe('unhealthy');
    await pod.stop();
    expect(await pod.exited).toEqual({ reason: 'stopped' });
  });
});
