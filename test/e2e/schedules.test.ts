/**
 * End to end, recurring schedules through a leader SIGKILL: two real `fleet-q start` processes share
 * a schedule ticking every second (backfill: 30); the leader is killed without warning, the other
 * pod takes over and catches up. Every tick from the first to the last must have exactly one step
 * (no duplicate, no gap), on SQLite and on PostgreSQL, and GET /admin/schedules must name the last one.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { postgresQueue, sqliteQueue, type QueueDatabase, type QueueReader } from './database.js';
import { eldestFirst, startPods, useE2eSuite, withQueue } from './harness.js';
import { getJson } from './http.js';

const suite = useE2eSuite();
const HANDLERS = join(import.meta.dirname, 'fixtures', 'schedules.mjs');
const KEY_PREFIX = 'schedule:every-second:';

/** Tick time (epoch ms) → how many steps carry its key. */
async function ticksOf(reader: QueueReader): Promise<Map<number, number>> {
  const steps = await reader.stepList({ type: 'echo', limit: 10_000, offset: 0 });
  const counts = new Map<number, number>();
  for (const step of steps) {
    expect(step.idempotencyKey?.startsWith(KEY_PREFIX)).toBe(true);
    const tick = Date.parse(step.idempotencyKey!.slice(KEY_PREFIX.length));
    expect(step.metadata).toMatchObject({ schedule: 'every-second', tick: new Date(tick).toISOString() });
    counts.set(tick, (counts.get(tick) ?? 0) + 1);
  }
  return counts;
}

async function scheduleThroughLeaderKill(cli: string, queue: QueueDatabase): Promise<void> {
  const pods = await startPods({ cli, queue, env: { FLEET_Q_HANDLERS: HANDLERS } }, ['sched-1', 'sched-2']);
  const reader = await queue.openReader();
  const [leader, heir] = (await eldestFirst(reader, pods)) as [(typeof pods)[0], (typeof pods)[0]];
  await waitFor('3 ticks before the kill', async () => (await ticksOf(reader)).size >= 3, { timeoutMs: 20_000, intervalMs: 100 });

  const killedAt = Date.now();
  leader.signal('SIGKILL');
  await leader.exited;
  await waitFor(`${heir.name} to lead`, async () => (await heir.health()).body.is_leader === true, { timeoutMs: 20_000 });
  await waitFor('ticks 4 s past the kill', async () => Math.max(...(await ticksOf(reader)).keys()) >= killedAt + 4_000, {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  heir.signal('SIGTERM');
  expect((await heir.exited).code).toBe(0);

  const counts = await ticksOf(reader);
  const ticks = [...counts.keys()].sort((a, b) => a - b);
  const first = ticks[0]!;
  const last = ticks[ticks.length - 1]!;
  const expected = Array.from({ length: (last - first) / 1_000 + 1 }, (_, i) => first + i * 1_000);
  expect(ticks.map((t) => new Date(t).toISOString())).toEqual(expected.map((t) => new Date(t).toISOString()));
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect(first).toBeLessThan(killedAt - 1_000);
  expect(last).toBeGreaterThanOrEqual(killedAt + 4_000);
  // Every tick's step ran: the pods claim `echo`, and the drained heir completed what it held.
  const stats = await reader.queueStats();
  expect(stats.failed).toBe(0);
}

async function adminRouteNamesLastTick(cli: string, queue: QueueDatabase): Promise<void> {
  const [pod] = await startPods({ cli, queue, env: { FLEET_Q_HANDLERS: HANDLERS } }, ['sched-solo']);
  const reader = await queue.openReader();
  await waitFor('2 ticks', async () => (await ticksOf(reader)).size >= 2, { timeoutMs: 20_000, intervalMs: 100 });
  const { status, body } = await getJson(pod!.baseUrl, '/admin/schedules');
  expect(status).toBe(200);
  const [listed] = body.schedules as Record<string, unknown>[];
  expect(listed).toMatchObject({ name: 'every-second', type: 'echo', cron: '* * * * * *', timezone: 'Europe/Paris', missed: 'backfill', backfill: 30 });
  const step = await reader.stepGet({ stepId: listed!['last_step_id'] as string });
  expect(step?.idempotencyKey).toBe(`${KEY_PREFIX}${listed!['last_enqueued_tick'] as string}`);
  // The next tick follows the last one, or the one after it when the route read just as a tick fell due.
  const gap = Date.parse(listed!['next_tick'] as string) - Date.parse(listed!['last_enqueued_tick'] as string);
  expect([1_000, 2_000]).toContain(gap);
}

describe('a schedule through a leader SIGKILL on SQLite', () => {
  it('makes exactly one step per tick, with no gap', async () => {
    await withQueue(sqliteQueue, (queue) => scheduleThroughLeaderKill(suite.cli, queue));
  }, 120_000);

  it('GET /admin/schedules names the last tick enqueued and the next one', async () => {
    await withQueue(sqliteQueue, (queue) => adminRouteNamesLastTick(suite.cli, queue));
  }, 60_000);
});

describe('a schedule through a leader SIGKILL on PostgreSQL', () => {
  it('makes exactly one step per tick, with no gap', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => scheduleThroughLeaderKill(suite.cli, queue),
    );
  }, 120_000);
});
