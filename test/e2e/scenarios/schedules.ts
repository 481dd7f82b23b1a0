/**
 * Recurring schedules end to end, written once for every store: real `fleet-q start` processes share a
 * schedule ticking every second with `backfill: 30` (fixtures/schedules.mjs); the leader is SIGKILLed
 * and the next pod takes over. Every tick from the first to the last must have exactly one step (no
 * duplicate, no gap). Owns the scenario; the test files choose the store and its timings.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { waitFor } from '../../support/wait.js';
import type { QueueDatabase, QueueReader } from '../database.js';
import { eldestFirst, startPods } from '../harness.js';
import { getJson } from '../http.js';

export interface ScheduleScenarioOptions {
  /** More pod variables (Snowflake-sized timings). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long past the kill the ticks must run on (default 4 s). */
  readonly afterKillMs?: number;
  /** Timeout of each wait (default 30 s). */
  readonly waitMs?: number;
}

const HANDLERS = join(import.meta.dirname, '..', 'fixtures', 'schedules.mjs');
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

/**
 * Two pods share the every-second schedule; the leader is SIGKILLed once 3 ticks exist; the other pod
 * must take over and the ticks run on to `afterKillMs` past the kill. `env`: timings for slow stores.
 */
export async function scheduleThroughLeaderKill(cli: string, queue: QueueDatabase, options: ScheduleScenarioOptions = {}): Promise<void> {
  const env = { ...options.env, FLEET_Q_HANDLERS: HANDLERS };
  const afterKillMs = options.afterKillMs ?? 4_000;
  const waitMs = options.waitMs ?? 30_000;
  const pods = await startPods({ cli, queue, env }, ['sched-1', 'sched-2']);
  const reader = await queue.openReader();
  const [leader, heir] = (await eldestFirst(reader, pods)) as [(typeof pods)[0], (typeof pods)[0]];
  // The first round backfills up to 30 ticks before the schedule existed; the kill comes once it ticked on its own.
  const startedAt = Date.now();
  await waitFor('2 s of ticks before the kill', async () => Math.max(...(await ticksOf(reader)).keys()) >= startedAt + 2_000, {
    timeoutMs: waitMs,
    intervalMs: 100,
  });

  const killedAt = Date.now();
  leader.signal('SIGKILL');
  await leader.exited;
  await waitFor(`${heir.name} to lead`, async () => (await heir.health()).body.is_leader === true, { timeoutMs: waitMs });
  await waitFor(`ticks ${afterKillMs} ms past the kill`, async () => Math.max(...(await ticksOf(reader)).keys()) >= killedAt + afterKillMs, {
    timeoutMs: waitMs,
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
  expect(first).toBeLessThan(killedAt - 2_000);
  expect(last).toBeGreaterThanOrEqual(killedAt + afterKillMs);
  // Every tick's step ran: the pods claim `echo`, and the drained heir completed what it held.
  const stats = await reader.queueStats();
  expect(stats.failed).toBe(0);
}

/** One pod: GET /admin/schedules names the last tick's step and the next tick. */
export async function adminRouteNamesLastTick(cli: string, queue: QueueDatabase): Promise<void> {
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
