/**
 * Self-fencing with real failures, no fakes: a pod's row marked down by another process (its claim is
 * refused, or its heartbeat answers ok:false), and a file locked by another connection so heartbeats
 * cannot commit. Each time the pod stops claiming, aborts in-flight handlers, reports unhealthy, and
 * comes back as a new pod id; the old incarnation's late completion is rejected as stale.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { PodHealthStatus } from '../../src/pod/control.js';
import { PodWorld, gate } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('a pod that loses its liveness', () => {
  it('is declared dead while a step runs: its late completion is stale, it fences, aborts and re-registers', async () => {
    world = new PodWorld();
    const store = await world.store();
    const pod = await world.startPod('alpha');
    const oldId = pod.podId!;
    const held = await world.submit('hold');
    const heldGate = gate();
    world.gates.set(held, heldGate);
    const abortable = await world.submit('abortable');
    await waitFor('both steps running on alpha', () => world.executionsOf(held).length === 1 && world.executionsOf(abortable).length === 1);
    let statusWhenFenced: PodHealthStatus | undefined;
    pod.onFact((fact) => {
      if (fact.type === 'pod.fenced') statusWhenFenced = pod.health().status;
    });

    // Another process declares alpha dead and recovers its claims. Both writes commit synchronously,
    // and the gate opens in the same tick, before alpha's next heartbeat (0.1 s) could tell it.
    void store.podMarkDown({ podId: oldId });
    const sweep = store.recoverySweep({ podId: 'operator' });
    heldGate.open();
    expect([...(await sweep).requeued].sort()).toEqual([held, abortable].sort());

    const newId = await waitFor('a new incarnation', () => (pod.podId !== oldId ? pod.podId : undefined));
    expect(newId).toMatch(/^alpha-[0-9a-f]{8}$/);
    expect(statusWhenFenced).toBe('unhealthy');
    await world.waitForStatus(held, 'completed');
    await world.waitForStatus(abortable, 'completed');

    // The held handler finished after its claim was recovered: the fenced write matched no row. It
    // commits through the completion batch, so under load the new incarnation may claim the step
    // first; the stale event then records the row as that claim left it.
    const heldEvents = await world.events(held);
    expect(heldEvents.filter((e) => e.kind !== 'stale_write_rejected').map((e) => e.kind)).toEqual([
      'submitted',
      'claimed',
      'recovered',
      'claimed',
      'completed',
    ]);
    const staleAt = heldEvents.findIndex((e) => e.kind === 'stale_write_rejected');
    // The row the stale write found, by where it landed: after the recovery, the new claim, or the completion.
    const rowFound = new Map<number, object>([
      [3, { status: 'pending', claimed_by: null, attempt: 1 }],
      [4, { status: 'claimed', claimed_by: newId, attempt: 2 }],
      [5, { status: 'completed', claimed_by: newId, attempt: 2 }],
    ]).get(staleAt);
    expect(rowFound, `stale_write_rejected at ${staleAt}, before the recovery`).toBeDefined();
    const stale = heldEvents[staleAt]!;
    expect(stale).toMatchObject({ podId: oldId, attempt: 1 });
    expect(stale.detail).toEqual({ write: 'complete', ...rowFound });
    expect(heldEvents.at(-1)!).toMatchObject({ kind: 'completed', podId: newId });
    expect(world.logged('stale_write_rejected')).toEqual([expect.objectContaining({ step_id: held, pod_id: oldId, attempt: 1 })]);

    // The other handler was aborted by the fence and wrote nothing; the new incarnation ran it again.
    expect(world.executionsOf(abortable)[0]!.abortReason).toBe('step aborted: fenced');
    expect(await world.kinds(abortable)).toEqual(['submitted', 'claimed', 'recovered', 'claimed', 'completed']);
    expect((await world.events(abortable)).at(-1)!.podId).toBe(newId);

    expect(world.logged('pod.fenced')).toHaveLength(1);
    expect(world.unknownEventNames()).toEqual([]);
    const rows = await store.podList();
    expect(rows.find((r) => r.podId === oldId)?.status).toBe('down');
    expect(rows.find((r) => r.podId === newId)?.status).toBe('up');
    await waitFor('healthy again', () => pod.health().status === 'healthy');
  });

  it('fences when a heartbeat finds its row down, and keeps working as a new pod id', async () => {
    world = new PodWorld();
    const store = await world.store();
    // An idle pod with a 30 s claim interval: only its heartbeat can learn of the verdict.
    const pod = await world.startPod('alpha', { claimIntervalSeconds: 30 });
    const oldId = pod.podId!;
    await store.podMarkDown({ podId: oldId });

    const newId = await waitFor('a new incarnation', () => (pod.podId !== oldId ? pod.podId : undefined));
    expect(world.logged('heartbeat.lost')).toEqual([expect.objectContaining({ pod_id: oldId, reason: 'down' })]);
    expect(world.logged('pod.fenced')).toEqual([expect.objectContaining({ pod_id: oldId, in_flight: 0 })]);
    expect(world.logged('pod.registered').map((l) => l['incarnation'])).toEqual([1, 2]);

    const id = await world.submit('work', { ms: 0 });
    await world.waitForStatus(id, 'completed');
    expect((await world.events(id)).find((e) => e.kind === 'claimed')?.podId).toBe(newId);
  });

  it('fences when no heartbeat can commit for the fence window (file locked), then comes back', async () => {
    world = new PodWorld();
    const store = await world.store();
    const pod = await world.startPod('alpha');
    const oldId = pod.podId!;
    const id = await world.submit('abortable');
    await waitFor('the step running', () => world.executionsOf(id).length === 1);

    const locker = new Database(world.dbPath);
    const lockedAt = Date.now();
    locker.exec('BEGIN EXCLUSIVE');
    try {
      await waitFor('the pod to fence itself', () => world.logged('pod.fenced').length > 0, 5_000);
      const fencedAfter = Date.now() - lockedAt;
      // The fence window is (0.1 s + 1 s) / 2 = 0.55 s after the last confirmed beat (≤ 0.1 s before the lock).
      expect(fencedAfter).toBeGreaterThanOrEqual(400);
      expect(fencedAfter).toBeLessThan(2_000);
      expect(world.logged('heartbeat.lost')).toEqual([expect.objectContaining({ pod_id: oldId, reason: 'deadline' })]);
      expect(pod.health().status).toBe('unhealthy');
      await waitFor('the handler aborted', () => world.executionsOf(id)[0]!.abortReason === 'step aborted: fenced');
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }

    const newId = await waitFor('a new incarnation once the file is free', () => (pod.podId !== oldId ? pod.podId : undefined), 10_000);
    await waitFor('healthy again', () => pod.health().status === 'healthy');
    // The old incarnation wrote nothing; its claim is recovered once its heartbeat ages out, and run again.
    await world.waitForStatus(id, 'completed', 10_000);
    const events = await world.events(id);
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'recovered', 'claimed', 'completed']);
    expect(events[2]!.detail).toMatchObject({ reason: 'pod_dead', retry_count: 1 });
    expect(events[1]!.podId).toBe(oldId);
    expect(events[4]!.podId).toBe(newId);
    expect((await store.podList()).find((p) => p.podId === oldId)?.status).toBe('down');
  });
});
