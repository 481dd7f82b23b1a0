/**
 * Leadership and recovery between real pods: the eldest leads; when it dies without a drain (its row
 * stays `up`, its claims held), the next eldest takes over once the dead pod's heartbeat is older than
 * the threshold, recovers the claims, and the survivors complete them. Manual recovery runs go through
 * the leader machine (PodControl.runRecovery).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, FleetError } from '../../src/errors.js';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('leader and recovery', () => {
  it('moves leadership to the next eldest when the leader dies, and its claims are recovered and completed', async () => {
    world = new PodWorld();
    const store = await world.store();
    const alpha = await world.startPod('alpha');
    const ids = [await world.submit('abortable'), await world.submit('abortable')];
    await waitFor('both steps running on alpha', () => ids.every((id) => world.executionsOf(id).length === 1));
    const bravo = await world.startPod('bravo');
    const charlie = await world.startPod('charlie');
    await waitFor('alpha leads', () => alpha.health().isLeader);
    const alphaId = alpha.podId!;
    const bravoId = bravo.podId!;

    // Dies without a drain: nothing is written, its row stays up and its claims stay held.
    const stoppedAt = Date.now();
    await alpha.stop();
    for (const id of ids) expect(world.executionsOf(id)[0]!.abortReason).toBe('step aborted: stopped');
    const alphaRow = (await store.podList()).find((p) => p.podId === alphaId)!;
    expect(alphaRow.status).toBe('up');
    for (const id of ids) expect(await store.stepGet({ stepId: id })).toMatchObject({ status: 'claimed', claimedBy: alphaId });

    await waitFor('bravo leads', () => bravo.health().isLeader, 5_000);
    // Not before alpha's last heartbeat is 1 s old.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(800);
    expect((await store.leaderGet()).leader?.podId).toBe(bravoId);
    expect(charlie.health().isLeader).toBe(false);

    for (const id of ids) await world.waitForStatus(id, 'completed');
    for (const id of ids) {
      const events = await world.events(id);
      expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'recovered', 'claimed', 'completed']);
      expect(events[1]!.podId).toBe(alphaId);
      expect(events[2]).toMatchObject({ podId: bravoId, attempt: 1 });
      expect(events[2]!.detail).toMatchObject({ reason: 'pod_dead', retry_count: 1 });
      expect(events[2]!.detail['error']).toContain(alphaId);
      expect([bravoId, charlie.podId]).toContain(events[3]!.podId);
      expect(world.executionsOf(id).map((e) => e.attempt)).toEqual([1, 2]);
    }
    expect((await store.podList()).find((p) => p.podId === alphaId)?.status).toBe('down');
    expect(world.logged('leader.elected').map((l) => l['pod_id'])).toEqual([alphaId, bravoId]);
    expect(
      world.logged('recovery.completed').some((l) => (l['requeued_steps'] as string[]).length === 2 && (l['dead_pods'] as string[]).includes(alphaId)),
    ).toBe(true);
  });

  it('prunes, as leader, terminal steps and down pods older than the retention', async () => {
    world = new PodWorld();
    const store = await world.store();
    // 0.00001 days = 864 ms; the leader then prunes every recovery interval (0.3 s).
    const alpha = await world.startPod('alpha', { retentionDays: 0.00001 });
    const bravo = await world.startPod('bravo', { retentionDays: 0.00001 });
    await waitFor('alpha leads', () => alpha.health().isLeader);
    const id = await world.submit('work', { ms: 0 });
    await world.waitForStatus(id, 'completed');
    const bravoId = bravo.podId!;
    await bravo.drain();

    await waitFor('the step pruned', async () => (await store.stepGet({ stepId: id })) === null, 5_000);
    expect(await world.events(id)).toEqual([]);
    await waitFor('the drained pod pruned', async () => !(await store.podList()).some((p) => p.podId === bravoId), 5_000);
    expect((await store.podList()).map((p) => p.podId)).toEqual([alpha.podId]);
    const pruned = world.logged('prune.completed');
    expect(pruned.length).toBeGreaterThan(0);
    expect(pruned.every((l) => l['test_pod'] === 'alpha')).toBe(true);
    expect(pruned.reduce((sum, l) => sum + (l['steps'] as number), 0)).toBe(1);
  });

  it('runs a manual sweep on the leader, refuses a follower unless forced, and a second one while the first runs', async () => {
    world = new PodWorld();
    const alpha = await world.startPod('alpha');
    const bravo = await world.startPod('bravo');
    await waitFor('alpha leads', () => alpha.health().isLeader);
    await waitFor('bravo has checked', () => bravo.health().lastLeaderCheck !== null);

    const run = await alpha.runRecovery({ force: false, dryRun: true });
    expect(run.cycleId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.summary).toMatchObject({ dryRun: true, deadPods: [], orphanedSteps: [] });

    await expect(bravo.runRecovery({ force: false, dryRun: false })).rejects.toSatisfy((e) => e instanceof FleetError && e.code === 'not_leader');
    const forced = await bravo.runRecovery({ force: true, dryRun: false });
    expect(forced.summary.dryRun).toBe(false);

    const first = alpha.runRecovery({ force: false, dryRun: false });
    const second = alpha.runRecovery({ force: false, dryRun: false });
    await expect(second).rejects.toBeInstanceOf(ConflictError);
    await expect(first).resolves.toMatchObject({ summary: { dryRun: false } });

    await alpha.stop();
    await expect(alpha.runRecovery({ force: false, dryRun: false })).rejects.toSatisfy((e) => e instanceof FleetError && e.code === 'not_leader');
    await expect(alpha.runRecovery({ force: true, dryRun: false })).rejects.toSatisfy((e) => e instanceof FleetError && e.code === 'database_error');
  });
});
