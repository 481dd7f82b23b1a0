/**
 * End to end, workflows (issue #14, "How it will be checked"): two real `fleet-q start` processes run
 * a three-level DAG submitted as one batch with references by index; its middle node fails, which
 * fails exactly its descendants (naming it) while the other branch completes; replaying the middle
 * node (POST /admin/dlq/:id/replay) revives them, and they complete, each handler seeing its
 * parents' results. On SQLite, PostgreSQL, MySQL/MariaDB and Snowflake (when configured),
 * checked through GET /workflow, GET /status and the audit trail.
 */
import { describe, expect, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { mysqlTestsRun, requireTestMysqlUrl } from '../support/mysql.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { mysqlQueue, postgresQueue, snowflakeQueue, sqliteQueue, type QueueDatabase } from './database.js';
import { startPods, useE2eSuite, withQueue } from './harness.js';
import { getJson, postJson } from './http.js';

const suite = useE2eSuite();
const runMysql = await mysqlTestsRun('test/e2e/workflow.test.ts');
const snowflakeUrl = emulatorUrl();
const runSnowflake = snowflakeUrl !== undefined || requiredStores().has('snowflake');
if (!runSnowflake) console.warn(`workflow e2e on Snowflake not run: ${emulatorUnavailableReason()}`);

/** How long the graph may take to settle: generous, since Snowflake statements cost 100 ms and more each. */
const SETTLE_MS = 90_000;

/**
 * root → mid (fails once) → (leaf1, leaf2 → deep); root → side → deep. `deep` has two parents, one
 * in each branch, three levels below root.
 */
const DAG = [
  { type: 'node', args: { label: 'root' } },
  { type: 'node', args: { label: 'mid', fail_times: 1 }, depends_on: [{ index: 0 }] },
  { type: 'node', args: { label: 'side' }, depends_on: [{ index: 0 }] },
  { type: 'node', args: { label: 'leaf1' }, depends_on: [{ index: 1 }] },
  { type: 'node', args: { label: 'leaf2' }, depends_on: [{ index: 1 }] },
  { type: 'node', args: { label: 'deep' }, depends_on: [{ index: 4 }, { index: 2 }] },
];

type Statuses = Record<string, string>;

async function scenario(queue: QueueDatabase): Promise<void> {
  const [a, b] = await startPods({ cli: suite.cli, queue }, ['wf-a', 'wf-b']);
  const base = a!.baseUrl;

  // Refused at submit, naming the items, writing nothing.
  const cycle = await postJson(base, '/submit/batch', {
    steps: [DAG[0], { ...DAG[1], depends_on: [{ index: 2 }] }, { ...DAG[2], depends_on: [{ index: 1 }] }],
  });
  expect(cycle).toMatchObject({ status: 400, body: { error_type: 'validation_error', detail: expect.stringContaining('cycle') as string } });
  expect(JSON.stringify(cycle.body)).toMatch(/steps\.1\.depends_on[^}]*items 1, 2/);
  const unknown = await postJson(base, '/submit/batch', { steps: [{ ...DAG[0], depends_on: ['step_01HF0000000000000000000000'] }] });
  expect(unknown).toMatchObject({ status: 400, body: { error_type: 'validation_error' } });

  const answer = await postJson(base, '/submit/batch', { steps: DAG });
  expect(answer.status).toBe(201);
  const [root, mid, side, leaf1, leaf2, deep] = answer.body.step_ids as string[];
  const label: Record<string, string> = { [root!]: 'root', [mid!]: 'mid', [side!]: 'side', [leaf1!]: 'leaf1', [leaf2!]: 'leaf2', [deep!]: 'deep' };

  const graph = async (): Promise<Statuses> => {
    const g = await getJson(b!.baseUrl, `/workflow/${deep}`);
    expect(g.status).toBe(200);
    return Object.fromEntries((g.body.nodes as { step_id: string; status: string }[]).map((n) => [label[n.step_id]!, n.status]));
  };

  await waitFor(
    'mid dead-lettered and side completed',
    async () => {
      const s = await graph();
      return s['mid'] === 'failed' && s['side'] === 'completed';
    },
    { timeoutMs: SETTLE_MS },
  );
  expect(await graph()).toEqual({ root: 'completed', mid: 'failed', side: 'completed', leaf1: 'failed', leaf2: 'failed', deep: 'failed' });
  const full = await getJson(base, `/workflow/${root}`);
  expect((full.body.edges as unknown[]).length).toBe(6);

  const reader = await queue.openReader();
  for (const id of [leaf1!, leaf2!, deep!]) {
    const row = await reader.stepGet({ stepId: id });
    expect(row).toMatchObject({ status: 'failed', attempt: 0, lastError: `parent step ${mid} failed` });
    const trail = await reader.eventList({ stepId: id });
    expect(trail.map((e) => e.kind)).toEqual(['submitted', 'dead_lettered']);
    expect(trail[1]!.detail).toMatchObject({ reason: 'parent_failed', parent_step_id: mid });
  }
  // Exactly the descendants: the DLQ holds mid and its three descendants, nothing else.
  const dlq = await getJson(base, '/admin/dlq');
  expect(((dlq.body.steps as { step_id: string }[]).map((s) => label[s.step_id]) as string[]).sort()).toEqual(['deep', 'leaf1', 'leaf2', 'mid']);

  expect(await postJson(b!.baseUrl, `/admin/dlq/${mid}/replay`, {})).toEqual({ status: 200, body: { step_id: mid, status: 'pending' } });
  await waitFor('the whole DAG completed', async () => Object.values(await graph()).every((s) => s === 'completed'), { timeoutMs: SETTLE_MS });

  // On Snowflake a completion's event is copied to the trail by its writer's next statement (or
  // poll), so the trail may lag the rows briefly: wait for it. A revived step then ran once to
  // completion; on a loaded machine the emulator's slow statements may get its pod judged dead
  // mid-step, so a recovery and a second claim are allowed between, never a second completion.
  for (const id of [leaf1!, leaf2!, deep!]) {
    await waitFor(`${id}'s completed event`, async () => (await reader.eventList({ stepId: id })).some((e) => e.kind === 'completed'), {
      timeoutMs: SETTLE_MS,
    });
    const kinds = (await reader.eventList({ stepId: id })).map((e) => e.kind);
    expect(kinds.slice(0, 4)).toEqual(['submitted', 'dead_lettered', 'replayed', 'claimed']);
    expect(kinds.at(-1)).toBe('completed');
    expect(kinds.filter((k) => k === 'completed')).toHaveLength(1);
    expect(kinds.slice(4, -1).every((k) => k === 'recovered' || k === 'claimed')).toBe(true);
  }
  const deepStatus = await getJson(base, `/status/${deep}`);
  expect(deepStatus.body).toMatchObject({
    status: 'completed',
    depends_on: [leaf2, side],
    result: { label: 'deep', parents: { [leaf2!]: 'leaf2', [side!]: 'side' } },
  });
  const midStatus = await getJson(base, `/status/${mid}`);
  expect(midStatus.body).toMatchObject({ status: 'completed', attempt: 2, result: { label: 'mid', parents: { [root!]: 'root' } } });
}

describe('a three-level workflow with a failing middle node', () => {
  it('on SQLite: fails exactly its descendants; replay revives them and they complete', async () => {
    await withQueue(sqliteQueue, scenario);
  }, 200_000);

  it('on PostgreSQL: the same', async () => {
    await withQueue(async () => postgresQueue(await requireTestDatabaseUrl()), scenario);
  }, 200_000);

  it.skipIf(!runMysql)(
    'on MySQL / MariaDB: the same',
    async () => {
      await withQueue(async () => mysqlQueue(requireTestMysqlUrl()), scenario);
    },
    200_000,
  );

  it.skipIf(!runSnowflake)(
    'on Snowflake (the emulator): the same',
    async () => {
      await withQueue(async () => {
        if (snowflakeUrl === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
        return snowflakeQueue(snowflakeUrl);
      }, scenario);
    },
    240_000,
  );
});
