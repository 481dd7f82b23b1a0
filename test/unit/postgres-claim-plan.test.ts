/**
 * PostgreSQL claims stay flat with many delayed steps (migration 2): the claim statement reads
 * never-delayed steps in claim order from st_ready_deadline_ix and due delayed steps by run_after from
 * st_delayed_ix, so steps waiting for a later run_after are never walked; and the claim order across
 * the two lists is the one DESIGN §3 defines. The timing itself is `npm run bench -- --scale`.
 */
import { describe, expect, it } from 'vitest';
import { pgNames } from '../../src/store/postgres/names.js';
import { stepClaimSql } from '../../src/store/postgres/queries.js';
import { withClient } from '../support/postgres.js';
import { SUBMIT, pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();
const POD = 'alpha-00000001';
const META = { max_parallelism: 8, capacity: 8, in_flight: 0, version: 't', host: 'h' };
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

describe('postgres claim plan', () => {
  it('plans the claim on the ready and delayed indexes, never walking the delayed steps in claim order', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    // Delayed steps submitted first sort before every due one in claim order: the case that made
    // the version 1 claim walk all of them.
    await store.stepSubmitBatch({ steps: Array.from({ length: 20_000 }, () => ({ ...SUBMIT, delayMs: 24 * HOUR })), now: T0 });
    await store.stepSubmitBatch({ steps: Array.from({ length: 50 }, () => SUBMIT), now: T0 + 1 });
    await store.podRegister({ podId: POD, name: 'alpha', meta: META, now: T0 });
    const plan = await withClient(db.url, async (client) => {
      await client.query(`ANALYZE ${db.schema}.step_tracker`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${stepClaimSql(pgNames(db.schema))}`, [T0 + 2, POD, ['echo'], 8]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using st_ready_deadline_ix/);
    expect(plan).toMatch(/Index Scan using st_delayed_ix/);
    expect(plan).not.toMatch(/st_pending_ix|Seq Scan on step_tracker/);
    expect(await store.stepClaim({ podId: POD, types: ['echo'], limit: 8, now: T0 + 2 })).toHaveLength(8);
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
