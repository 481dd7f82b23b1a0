/**
 * The PostgreSQL claim commits asynchronously, and only the claim: `synchronous_commit = off` holds
 * for the claim's own transaction and never leaks into the session (a pooled connection runs the
 * durable completes next), while the completion statements keep the server's setting.
 */
import { describe, expect, it } from 'vitest';
import { pgNames } from '../../src/store/postgres/names.js';
import { claimListLimit, stepClaimSql, stepCompleteBatchSql, stepCompleteSql } from '../../src/store/postgres/queries.js';
import { withClient } from '../support/postgres.js';
import { SUBMIT, pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();
const POD = 'alpha-00000001';
const META = { max_parallelism: 4, capacity: 4, in_flight: 0, version: 't', host: 'h' };

describe('postgres claim commit', () => {
  it('turns synchronous_commit off for the claim transaction only', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    await store.stepSubmit(SUBMIT);
    await store.podRegister({ podId: POD, name: 'alpha', meta: META });
    const claim = stepClaimSql(pgNames(db.schema), claimListLimit(1));
    await withClient(db.url, async (client) => {
      const show = async () => (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit;
      // The test server runs with synchronous_commit off for speed; a production session has it on.
      await client.query('SET synchronous_commit = on');
      const before = await show();
      expect(before).toBe('on');
      await client.query('BEGIN');
      const { rows } = await client.query(claim, [null, POD, ['echo'], 1]);
      expect(rows).toHaveLength(1);
      expect(await show()).toBe('off');
      await client.query('COMMIT');
      expect(await show()).toBe(before);
      // As the driver runs it: one statement, its own implicit transaction.
      await client.query(claim, [null, POD, ['echo'], 1]);
      expect(await show()).toBe(before);
    });
  });

  it('leaves the completions durable', () => {
    const n = pgNames('public');
    for (const sql of [stepCompleteSql(n), stepCompleteBatchSql(n, true), stepCompleteBatchSql(n, false)]) expect(sql).not.toContain('synchronous_commit');
  });
});
