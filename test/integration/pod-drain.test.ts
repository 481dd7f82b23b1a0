/**
 * Drain (DESIGN §3): claiming stops at once, health says draining, in-flight handlers get the shutdown
 * grace, the unfinished ones are aborted and released (claimable elsewhere at once, retry_count kept),
 * and the pod is marked down.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('drain', () => {
  it('finishes what fits in the grace, releases the rest, claims nothing new, and marks the pod down', async () => {
    world = new PodWorld();
    const store = await world.store();
    const alpha = await world.startPod('alpha', { shutdownGraceSeconds: 0.3 });
    const quick = await world.submit('work', { ms: 100 });
    const stuck = await world.submit('abortable');
    await waitFor('both steps running on alpha', () => world.executionsOf(quick).length === 1 && world.executionsOf(stuck).length === 1);
    const alphaId = alpha.podId!;

    const startedAt = Date.now();
    const draining = alpha.drain();
    expect(alpha.health().status).toBe('draining');
    // Submitted during the drain, while alpha's first slot frees up: alpha must not take it.
    const later = await world.submit('work', { ms: 0 });

    await draining;
    const tookMs = Date.now() - startedAt;
    expect(tookMs).toBeGreaterThanOrEqual(250);
    expect(tookMs).toBeLessThan(2_000);
    expect(await alpha.exited).toEqual({ reason: 'drained' });
    expect(alpha.health().status).toBe('draining');
    expect((await store.podList()).find((p) => p.podId === alphaId)?.status).toBe('down');

    expect(await world.kinds(quick)).toEqual(['submitted', 'claimed', 'completed']);
    expect(world.executionsOf(stuck)[0]!.abortReason).toBe('step aborted: drain');
    const released = (await world.events(stuck)).at(-1)!;
    expect(released).toMatchObject({ kind: 'released', podId: alphaId, attempt: 1, detail: { release_count: 1 } });
    expect(await store.stepGet({ stepId: stuck })).toMatchObject({ status: 'pending', retryCount: 0, releaseCount: 1, claimedBy: null });
    expect(await world.kinds(later)).toEqual(['submitted']);
    expect(world.logged('drain.started')).toHaveLength(1);
    expect(world.unknownEventNames()).toEqual([]);
    expect(world.logged('drain.grace_expired')).toEqual([expect.objectContaining({ pod_id: alphaId, in_flight: 1 })]);

    // Elsewhere: another pod completes the released step and the one submitted during the drain.
    const bravo = await world.startPod('bravo');
    await world.waitForStatus(stuck, 'completed');
    await world.waitForStatus(later, 'completed');
    const stuckEvents = await world.events(stuck);
    expect(stuckEvents.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'released', 'claimed', 'completed']);
    expect(stuckEvents[4]!.podId).toBe(bravo.podId);
    expect((await store.stepGet({ stepId: stuck }))?.retryCount).toBe(0);
  });

  it('resolves at once when nothing runs, and a stopped or drained pod cannot start again', async () => {
    world = new PodWorld();
    const alpha = await world.startPod('alpha', { shutdownGraceSeconds: 5 });
    const startedAt = Date.now();
    await alpha.drain();
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect((await (await world.store()).podList())[0]?.status).toBe('down');
    await expect(alpha.start()).rejects.toThrow(/ended/);
    await alpha.stop(); // harmless after a drain
    expect(await alpha.exited).toEqual({ reason: 'drained' });
  });
});
