/**
 * Recurring schedules in real in-process pods on one SQLite file: `createPod({ schedules })` enqueues
 * each tick of an every-second schedule once while two pods run it (only the leader enqueues; the key
 * would stop a second one anyway) and the ticks' steps complete; a pod with bad schedules refuses to
 * start, naming every problem, and writes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createPod } from '../../src/pod/pod.js';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

const EVERY_SECOND = { name: 'every-second', type: 'echo', cron: '* * * * * *', args: { n: 1 }, missed: { backfill: 5 } } as const;

describe('schedules in pods', () => {
  it('two pods with the same schedule: one completed step per tick, no tick twice, none missing', async () => {
    world = new PodWorld();
    const store = await world.store();
    const alpha = await world.startPod('alpha', {}, { schedules: [EVERY_SECOND] });
    await world.startPod('bravo', {}, { schedules: [EVERY_SECOND] });
    expect(alpha.schedules.map((s) => s.name)).toEqual(['every-second']);
    const startedAt = Date.now();
    // A new schedule with backfill: 5 enqueues the 5 ticks before it at once; then it must keep ticking.
    const newest = async () => Math.max(...(await store.stepList({ type: 'echo', limit: 100, offset: 0 })).map((s) => Date.parse(String(s.metadata['tick']))));
    await waitFor('ticks 3 s after the start', async () => (await newest()) >= startedAt + 3_000, 15_000);
    await Promise.all(world.pods.map((p) => p.drain()));

    const steps = await store.stepList({ type: 'echo', limit: 100, offset: 0 });
    const ticks = steps.map((s) => Date.parse(String(s.metadata['tick']))).sort((a, b) => a - b);
    expect(new Set(steps.map((s) => s.idempotencyKey)).size).toBe(steps.length);
    expect(ticks.slice(1).map((t, i) => t - ticks[i]!)).toEqual(ticks.slice(1).map(() => 1_000));
    for (const step of steps) {
      expect(step.idempotencyKey).toBe(`schedule:every-second:${new Date(Date.parse(String(step.metadata['tick']))).toISOString()}`);
      expect(step.args).toEqual({ n: 1 });
    }
    expect(steps.length).toBeGreaterThanOrEqual(8);
    // Drained pods finish what they claimed; a tick enqueued during the drain may still wait.
    expect(steps.filter((s) => s.status === 'completed').length).toBeGreaterThanOrEqual(steps.length - 2);
    expect(steps.filter((s) => s.status === 'failed')).toEqual([]);
    expect(world.logLines.filter((l) => l['msg'] === 'schedule tick enqueued').length).toBe(steps.length);
  }, 30_000);

  it('refuses to start with bad schedules, listing every problem, and writes nothing', async () => {
    world = new PodWorld();
    const pod = createPod({
      config: world.config({ podId: 'refused' }),
      schedules: [
        { name: 'ok', type: 'echo', cron: '* * * * *' },
        { name: 'ok', type: 'missing.type', cron: '61 * * * *', timezone: 'Nowhere/Land' },
      ],
    });
    const refusal = await pod.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(((refusal as ConfigError).errors ?? []).map((e) => e.loc).sort()).toEqual(
      ['schedules[1].cron', 'schedules[1].name', 'schedules[1].timezone', 'schedules[1].type'].sort(),
    );
    expect((await pod.exited).reason).toBe('stopped');
    expect(await (await world.store()).podList()).toEqual([]);
  });
});
