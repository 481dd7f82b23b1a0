/**
 * End to end, fleet-wide flow control: four real pods, each able to run 8 steps at once, share a
 * backlog of 16 steps of a type declared with `concurrency: 3`. All complete, and never more than 3
 * run at once: neither in the audit trail (claims held at once) nor in the handlers' own execution
 * log (real time, one file all pods append to), and the limit is reached. On SQLite, PostgreSQL and
 * the Snowflake emulator, where the limited claims pass the store's gate (src/store/snowflake/gate.ts;
 * test/integration/snowflake-gate.test.ts is the race that fails without it; README, "What the
 * emulator tests prove").
 */
import { describe, expect, it } from 'vitest';
import { maxConcurrent, maxConcurrentByTime } from '../support/flow-trail.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import type { StepEvent } from '../../src/store/store.js';
import { allEvents, readExecutions, type Execution } from './audit.js';
import { postgresQueue, snowflakeQueue, sqliteQueue, type QueueDatabase } from './database.js';
import { requiredStores } from '../conformance/stores.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { startPods, useE2eSuite, withQueue } from './harness.js';
import { submitBatch } from './http.js';

const suite = useE2eSuite();
const LIMIT = 3;
const STEPS = 16;
/**
 * Where the trail cannot place a claim on the emulator (its attempt logged no handler start), how
 * much later than its stamp the claim is replayed: the emulator stamps a gated claim with its
 * transaction's start, and the claim reads its counts later (see `claimMoment`).
 */
const EMULATOR_CLAIM_LAG_MS = 1_000;
const EMULATOR_HOLD_MS = 2_000;

/**
 * When the emulator's trail replays a claim: when its attempt's handler started (the claim had
 * committed, so had read its counts; a release it saw is stamped before it committed, so replays
 * first). Under load the emulator's gated transaction has been seen to read more than a second
 * after the stamp at its start, so the stamp alone would show a completion the claim saw as later.
 */
function claimMoment(lines: readonly Execution[]): (claim: StepEvent) => number {
  const started = new Map(lines.filter((l) => l.event === 'start').map((l) => [`${l.step_id}:${l.attempt}`, l.ts]));
  return (claim) => started.get(`${claim.stepId}:${claim.attempt}`) ?? claim.ts + EMULATOR_CLAIM_LAG_MS;
}

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
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${pods.map((p) => `--- ${p.name}\n${p.output.slice(-3_000)}`).join('\n')}`);
  });
  // Snowflake: a pod copies its completions' events to the trail with its next claim or its
  // watcher's next quiet poll, so the trail may lag the rows; a completion missing from it would
  // replay as a claim held to the end.
  const events = await waitFor(
    `the ${STEPS} completed events in the trail`,
    async () => {
      const trail = (await allEvents(reader)).filter((e) => ids.includes(e.stepId));
      return trail.filter((e) => e.kind === 'completed').length >= STEPS ? trail : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  // Handler runs with both a start and a done line, in file order (real time across processes). An
  // attempt aborted mid-run (a timeout, a fenced pod) logs no done; its claim still counts in the trail.
  const lines = readExecutions(queue.executionLog).filter((l) => ids.includes(l.step_id));
  const finished = new Set(lines.filter((l) => l.event === 'done').map((l) => `${l.step_id}:${l.attempt}:${l.pid}`));
  // Snowflake: event ids are not commit order (completions' events are copied later), so the trail
  // is replayed by time, each claim at a moment after it read its counts (flow-trail.ts); the
  // handlers' log below is the strict real-time check on every store.
  const heldInTrail = queue.kind === 'snowflake' ? maxConcurrentByTime(events, new Set(ids), claimMoment(lines)) : maxConcurrent(events, new Set(ids));

  let running = 0;
  let most = 0;
  for (const line of lines) {
    if (!finished.has(`${line.step_id}:${line.attempt}:${line.pid}`)) continue;
    running += line.event === 'start' ? 1 : line.event === 'done' ? -1 : 0;
    most = Math.max(most, running);
  }
  expect(most, `handlers running at once (trail: ${heldInTrail})`).toBeLessThanOrEqual(LIMIT);
  expect(heldInTrail, 'claims held at once in the trail').toBeLessThanOrEqual(LIMIT);
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
  if (url === undefined && !requiredStores().has('snowflake')) {
    console.warn(`flow limits on Snowflake not run: ${emulatorUnavailableReason()}`);
    it.skip(`on the Snowflake emulator (not run: ${emulatorUnavailableReason()})`, () => undefined);
  } else {
    // Longer holds: each emulated statement costs milliseconds, and four pods polling every 0.2 s
    // must still find the limit full while steps run.
    it('on the Snowflake emulator', async () => {
      await withQueue(
        async () => {
          if (url === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
          return snowflakeQueue(url);
        },
        (queue) => limitScenario(queue, EMULATOR_HOLD_MS, 180_000),
      );
    }, 300_000);
  }
});
