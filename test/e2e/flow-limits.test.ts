/**
 * End to end, fleet-wide flow control: four real pods, each able to run 8 steps at once, share a
 * backlog of 16 steps of a type declared with `concurrency: 3`. All complete, and never more than 3
 * run at once: neither in the audit trail (claims held at once) nor in the handlers' own execution
 * log (real time, one file all pods append to), and the limit is reached. On SQLite and PostgreSQL, and Snowflake when its emulator runs.
 */
import { describe, expect, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { maxConcurrent } from '../support/flow-trail.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { waitFor } from '../support/wait.js';
import { allEvents, readExecutions } from './audit.js';
import { postgresQueue, snowflakeQueue, sqliteQueue, type QueueDatabase } from './database.js';
import { startPods, useE2eSuite, withQueue } from './harness.js';
import { submitBatch } from './http.js';

const suite = useE2eSuite();
const LIMIT = 3;
const STEPS = 16;

async function limitScenario(queue: QueueDatabase, holdMs: number, timeoutMs: number): Promise<void> {
  const env = { E2E_FLOW_STEPS: '1', FLEET_Q_MAX_PARALLELISM: '10', FLEET_Q_CAPACITY_THRESHOLD: '0.8' };
  const pods = await startPods({ cli: suite.cli, queue, env }, ['flow-a', 'flow-b', 'flow-c', 'flow-d']);
  const ids = await submitBatch(
    pods[0]!.baseUrl,
    Array.from({ length: STEPS }, () => ({ type: 'limited', args: { ms: holdMs } })),
  );
  const reader = await queue.openReader();
  await waitFor(
    `${STEPS} limited steps to complete`,
    async () => (await Promise.all(ids.map((stepId) => reader.stepGet({ stepId })))).every((s) => s?.status === 'completed'),
    { timeoutMs },
  );
  // Snowflake copies a write's event into the trail with the writer's next statement: wait for it.
  await waitFor('every completion in the audit trail', async () => (await allEvents(reader)).filter((e) => e.kind === 'completed').length >= STEPS, {
    timeoutMs: 20_000,
  });

  const events = (await allEvents(reader)).filter((e) => ids.includes(e.stepId));
  expect(maxConcurrent(events, new Set(ids))).toBeLessThanOrEqual(LIMIT);

  let running = 0;
  let most = 0;
  for (const line of readExecutions(queue.executionLog).filter((l) => ids.includes(l.step_id))) {
    running += line.event === 'start' ? 1 : line.event === 'done' ? -1 : 0;
    most = Math.max(most, running);
  }
  expect(most, 'handlers running at once').toBeLessThanOrEqual(LIMIT);
  // The limit is a limit, not a serialisation: it is reached.
  expect(most).toBe(LIMIT);
}

describe('a per-type concurrency limit of 3 across four pods', () => {
  it('on SQLite', async () => {
    await withQueue(sqliteQueue, (queue) => limitScenario(queue, 400, 60_000));
  }, 120_000);

  it('on PostgreSQL', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => limitScenario(queue, 400, 60_000),
    );
  }, 120_000);

  const url = emulatorUrl();
  const snowflakeRequired = requiredStores().has('snowflake');
  it.skipIf(url === undefined && !snowflakeRequired)(
    `on Snowflake${url === undefined ? ` (not run: ${emulatorUnavailableReason()})` : ''}`,
    async () => {
      if (url === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
      await withQueue(
        () => snowflakeQueue(url),
        (queue) => limitScenario(queue, 1_500, 180_000),
      );
    },
    300_000,
  );
});
