/**
 * PostgreSQL claims stay flat with many delayed steps (migration 2): the claim statement reads
 * never-delayed steps in claim order from st_ready_deadline_ix and due delayed steps by run_after from
 * st_delayed_ix, so steps waiting for a later run_after are never walked; and the claim order across
 * the two lists is the one DESIGN §3 defines. The timing itself is `npm run bench -- --scale`.
 */
import { describe, expect, it } from 'vitest';
import { CLAIM_SESSION } from '../../src/store/postgres/connection.js';
import { pgNames } from '../../src/store/postgres/names.js';
import { claimListLimit, stepClaimSql } from '../../src/store/postgres/queries.js';
import { withClient } from '../support/postgres.js';
import { SUBMIT, pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();
const POD = 'alpha-00000001';
const META = { max_parallelism: 8, capacity: 8, in_flight: 0, version: 't', host: 'h' };
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/**
 * A migrated queue whose 20,000 steps delayed to tomorrow were submitted before `ready` due ones
 * (so they sort first in claim order: the case that made the version 1 claim walk all of them), and
 * a registered pod.
 */
async function readyBehindDelayed(ready: number) {
  const db = await database();
  const store = await db.open();
  await store.migrate();
  await store.stepSubmitBatch({ steps: Array.from({ length: 20_000 }, () => ({ ...SUBMIT, delayMs: 24 * HOUR })), now: T0 });
  await store.stepSubmitBatch({ steps: Array.from({ length: ready }, () => SUBMIT), now: T0 + 1 });
  await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
  return { db, store };
}

describe('postgres claim plan', () => {
  it('plans the claim on the ready and delayed indexes, never walking the delayed steps in claim order', async () => {
    const { db, store } = await readyBehindDelayed(50);
    const plan = await withClient(db.url, async (client) => {
      await client.query(`ANALYZE ${db.schema}.step_tracker`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${stepClaimSql(pgNames(db.schema), claimListLimit(8))}`, [
        T0 + 2,
        POD,
        ['echo'],
        8,
      ]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using st_ready_deadline_ix/);
    expect(plan).toMatch(/Index Scan using st_delayed_ix/);
    expect(plan).not.toMatch(/st_pending_ix|Seq Scan on step_tracker/);
    expect(await store.stepClaim({ podId: POD, types: ['echo'], limit: 8, now: T0 + 2 })).toHaveLength(8);
  });

  it("runs the claim's generic plan, planned once per session and priced as the plan made for its values", async () => {
    const { db } = await readyBehindDelayed(2_000);
    const text = stepClaimSql(pgNames(db.schema), claimListLimit(5));
    // A session as the driver opens for its claims.
    await withClient(
      db.url,
      async (client) => {
        await client.query(`ANALYZE ${db.schema}.step_tracker`);
        const name = 'claim_plan_test';
        // Claims of 5 steps, rolled back so the queue stays as it is.
        for (let i = 0; i < 10; i++) {
          await client.query('BEGIN');
          const { rows } = await client.query({ name, text, values: [T0 + 2, POD, ['echo'], 5] });
          expect(rows).toHaveLength(5);
          await client.query('ROLLBACK');
        }
        const { rows: counts } = await client.query<{ generic_plans: string; custom_plans: string }>(
          'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1',
          [name],
        );
        expect(counts[0]).toEqual({ generic_plans: '10', custom_plans: '0' });
        // The generic plan knows no parameter value: with a LIMIT parameter it guessed a tenth of each
        // list and priced itself a hundred times above the plan made for the values; beside a million
        // rows that passed jit_above_cost, and every claim was JIT-compiled (about 60 ms).
        await client.query(`PREPARE generic_claim AS ${text}`);
        const cost = async () => {
          const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Total Cost': number } }] }>(
            `EXPLAIN (FORMAT JSON) EXECUTE generic_claim(${T0 + 2}, '${POD}', ARRAY['echo'], 5)`,
          );
          return rows[0]!['QUERY PLAN'][0].Plan['Total Cost'];
        };
        const generic = await cost();
        await client.query('SET plan_cache_mode = force_custom_plan');
        const custom = await cost();
        expect(generic).toBeLessThan(2 * custom);
      },
      { options: CLAIM_SESSION.options },
    );
  });

  it('walks st_ready_deadline_ix in claim order without statistics too, reading only the steps it claims', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    const plan = await withClient(
      db.url,
      async (client) => {
        // A backlog the planner has no statistics for: fewer steps than the store analyzes after,
        // and no autovacuum run in between (switched off here so none can come early).
        await client.query(`ALTER TABLE ${db.schema}.step_tracker SET (autovacuum_enabled = false)`);
        await store.stepSubmitBatch({ steps: Array.from({ length: 3_000 }, () => SUBMIT), now: T0 });
        await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
        const { rows: analyzed } = await client.query<{ reltuples: number }>(
          `SELECT reltuples FROM pg_class WHERE oid = '${db.schema}.step_tracker'::regclass`,
        );
        expect(analyzed[0]!.reltuples).toBe(-1);
        await client.query(`PREPARE claim_eight AS ${stepClaimSql(pgNames(db.schema), claimListLimit(8))}`);
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE claim_eight(${T0 + 2}, '${POD}', ARRAY['echo'], 8)`,
        );
        await client.query('ROLLBACK');
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      },
      { options: CLAIM_SESSION.options },
    );
    // A bitmap scan returns no order: the claim would sort all 3,000 pending steps to take 8.
    expect(plan).not.toMatch(/Bitmap/);
    expect(plan).toMatch(/Index Scan using st_ready_deadline_ix on step_tracker s \(actual rows=8 loops=1\)/);
  });

  it('merges due delayed steps and never-delayed steps in priority, then age order', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    const submit = async (priority: number, delayMs: number, now: number) => (await store.stepSubmit({ ...SUBMIT, priority, delayMs, now })).stepId;
    const delayedLow = await submit(0, 10, T0);
    const readyLow = await submit(0, 0, T0 + 1);
    const delayedHigh = await submit(5, 10, T0 + 2);
    const readyHigh = await submit(5, 0, T0 + 3);
    const notYetDue = await submit(9, HOUR, T0 + 4);
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    const claimed = await store.stepClaim({ podId: POD, types: ['echo'], limit: 10, now: T0 + 100 });
    expect(claimed.map((r) => r.stepId)).toEqual([delayedHigh, readyHigh, delayedLow, readyLow]);
    expect(claimed.map((r) => r.stepId)).not.toContain(notYetDue);
  });
});
