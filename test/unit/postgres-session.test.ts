/**
 * The PostgreSQL store's checked-out clients (PgConnections.withSession / inTransaction: the
 * migration, claims under flow locks, submits with workflow edges), on a real server: a transaction
 * that fails on purpose rolls back and its client goes back to the pool; a client whose backend is
 * killed mid-transaction neither crashes the process (its 'error' event is heard) nor returns to the
 * pool, and the failure comes out as a retryable StoreError; a session that failed is discarded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, StoreError } from '../../src/errors.js';
import { PgConnections } from '../../src/store/postgres/connection.js';
import { withClient } from '../support/postgres.js';
import { pgTestDatabases } from './postgres-fixture.js';

const database = pgTestDatabases();
let connections: PgConnections | undefined;

afterEach(async () => {
  await connections?.end();
  connections = undefined;
});

async function open(): Promise<{ connections: PgConnections; reported: StoreError[]; table: string; baseUrl: string }> {
  const db = await database({ tag: true });
  const reported: StoreError[] = [];
  connections = new PgConnections({ url: db.url, poolSize: 2, onError: (e) => reported.push(e) });
  const table = `"${db.schema}".t`;
  await connections.main.query(`CREATE TABLE ${table} (k int PRIMARY KEY)`);
  return { connections, reported, table, baseUrl: db.baseUrl };
}

describe('checked-out PostgreSQL clients', () => {
  it('a transaction that throws rolls back, keeps the error as it is and returns its client to the pool', async () => {
    const { connections, table } = await open();
    const pidBefore = await connections.inTransaction(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const refused = connections.inTransaction(async (c) => {
      await c.query(`INSERT INTO ${table} VALUES (1)`);
      throw new ConflictError('refused on purpose');
    });
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    expect((await connections.main.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
    // The same backend serves the next transaction: the client was returned, not discarded.
    const pidAfter = await connections.inTransaction(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    expect(pidAfter).toBe(pidBefore);
    expect(connections.main.totalCount).toBe(1);
  });

  it('a backend killed mid-transaction: no crash, a retryable StoreError, the client discarded, the next transaction commits', async () => {
    const { connections, table, baseUrl } = await open();
    const killed = connections.inTransaction(async (c) => {
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await c.query(`INSERT INTO ${table} VALUES (1)`);
      // Handled at once: the rejection may come before the killer's own connection has closed.
      const sleeping = c.query('SELECT pg_sleep(10)').then(
        () => undefined,
        (err: unknown) => err,
      );
      await withClient(baseUrl, (killer) => killer.query('SELECT pg_terminate_backend($1)', [pid]));
      const failure = await sleeping;
      if (failure !== undefined) throw failure;
    });
    const error = await killed.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).errorClass).toBe('retryable');
    expect(connections.main.totalCount).toBe(0);
    await connections.inTransaction((c) => c.query(`INSERT INTO ${table} VALUES (2)`));
    expect((await connections.main.query(`SELECT k FROM ${table} ORDER BY k`)).rows).toEqual([{ k: 2 }]);
  });

  it('a session whose work failed is discarded, not returned', async () => {
    const { connections, table } = await open();
    await connections.withSession((c) => c.query('SELECT 1'));
    expect(connections.main.totalCount).toBe(1);
    const failed = connections.withSession(async (c) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${table} VALUES (1), (1)`);
    });
    await expect(failed).rejects.toMatchObject({ errorClass: 'conflict', driverCode: '23505' });
    expect(connections.main.totalCount).toBe(0);
  });
});
