/**
 * The PostgreSQL store refreshes the planner statistics of step_tracker itself once it has inserted
 * 5,000 steps, without waiting for autovacuum, so claims on a freshly filled table walk the ready
 * index in claim order instead of sorting every due row.
 */
import { describe, expect, it } from 'vitest';
import { pgNames } from '../../src/store/postgres/names.js';
import { claimListLimit, stepClaimSql } from '../../src/store/postgres/queries.js';
import { withClient } from '../support/postgres.js';
import { SUBMIT, pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();
const POD = 'alpha-00000001';
const META = { max_parallelism: 8, capacity: 8, in_flight: 0, version: 't', host: 'h' };

/** When step_tracker was last analyzed by an ANALYZE command (autovacuum's runs are counted apart). */
async function lastAnalyze(url: string, schema: string): Promise<Date | null> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ last_analyze: Date | null }>(
      `SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'step_tracker'`,
      [schema],
    );
    return rows[0]?.last_analyze ?? null;
  });
}

describe('postgres statistics', () => {
  it('analyzes step_tracker after a large submit, and claims then use the ready index', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    expect(await lastAnalyze(db.url, db.schema)).toBeNull();
    await store.stepSubmitBatch({ steps: Array.from({ length: 5_000 }, () => SUBMIT) });
    const deadline = Date.now() + 15_000;
    while ((await lastAnalyze(db.url, db.schema)) === null) {
      if (Date.now() > deadline) throw new Error('step_tracker was not analyzed within 15 s of inserting 5,000 steps');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await store.podRegister({ podId: POD, name: 'alpha', meta: META });
    // EXPLAIN without ANALYZE plans the driver's own claim statement and runs nothing.
    const plan = await withClient(db.url, async (client) => {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${stepClaimSql(pgNames(db.schema), claimListLimit(8))}`, [null, POD, ['echo'], 8]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toMatch(/Index Scan using st_ready_deadline_ix/);
    expect(await store.stepClaim({ podId: POD, types: ['echo'], limit: 8 })).toHaveLength(8);
  });
});
