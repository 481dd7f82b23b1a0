/**
 * What the MySQL driver decides beyond the shared conformance suite, on a real server
 * (FLEET_Q_TEST_MYSQL_URL; each case its own database): a database newer than this build refused
 * without a change, many openers migrating one database at once under GET_LOCK, sessions on UTC so
 * the database clock is epoch ms whatever the server's zone, a deadlock re-run instead of failing,
 * the watcher woken when a delayed step falls due, and claims that lock only the rows they take (the claim-order index, not a sort).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError } from '../../src/errors.js';
import { IDLE_TRANSACTION_TIMEOUT_S, inTransaction, MysqlConnections, run } from '../../src/store/mysql/connection.js';
import { openMysqlStore, type MysqlStore } from '../../src/store/mysql/driver.js';
import { LATEST_VERSION } from '../../src/store/mysql/migrations.js';
import type { StorePolicy } from '../../src/store/store.js';
import { freshDatabase, mysqlTestsRun, requireTestMysqlUrl, withConnection } from '../support/mysql.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 4, capacity: 4, in_flight: 0, version: 'test', host: 'test' };
const runHere = await mysqlTestsRun('test/unit/mysql-driver.test.ts');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function database(): Promise<{ url: string; open(): Promise<MysqlStore> }> {
  const db = await freshDatabase(requireTestMysqlUrl());
  cleanups.push(db.drop);
  return {
    url: db.url,
    async open() {
      const store = await openMysqlStore({ url: db.url, policy: POLICY, poolSize: 3 });
      cleanups.push(() => store.close());
      return store;
    },
  };
}

describe.skipIf(!runHere)('mysql driver', () => {
  it('lets five openers migrate one empty database at once: one applies every version, the others find it done', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 5 }, () => db.open()));
    const results = await Promise.all(stores.map((s) => s.migrate()));
    expect(results.filter((r) => r.from === 0)).toEqual([{ from: 0, to: LATEST_VERSION }]);
    expect(results.filter((r) => r.from !== 0)).toHaveLength(4);
    for (const store of stores) expect((await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000 })).outcome).toBe('submitted');
  });

  it('refuses a database newer than this build with SchemaTooNewError, changing nothing', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    await withConnection(db.url, (c) => c.query('UPDATE schema_version SET version = ? WHERE id = 1', [LATEST_VERSION + 1]));
    await expect(store.migrate()).rejects.toBeInstanceOf(SchemaTooNewError);
    const [rows] = await withConnection(db.url, (c) => c.query('SELECT version FROM schema_version'));
    expect(rows).toEqual([{ version: LATEST_VERSION + 1 }]);
  });

  it('re-applies the step-control migration (3) that stopped before recording its version, and cancels then work', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    // As if the process died between version 3's ALTERs and the version record.
    await withConnection(db.url, (c) => c.query('UPDATE schema_version SET version = 2 WHERE id = 1'));
    expect(await store.migrate()).toEqual({ from: 2, to: LATEST_VERSION });
    const { stepId } = await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000 });
    expect((await store.stepCancel({ stepId })).step.status).toBe('cancelled');
  });

  it('runs every session on UTC and READ COMMITTED (MariaDB: idle transactions time out), so the database clock is epoch ms whatever the server zone', async () => {
    const db = await database();
    const connections = new MysqlConnections({ url: db.url, poolSize: 1 });
    cleanups.push(() => connections.end());
    const [zone] = await connections.main.query('SELECT @@session.time_zone AS tz');
    expect(zone).toEqual([{ tz: '+00:00' }]);
    // tx_isolation on MariaDB, transaction_isolation on MySQL 8.
    const [isolation] = await connections.main.query("SHOW SESSION VARIABLES WHERE Variable_name IN ('tx_isolation', 'transaction_isolation')");
    expect(new Set((isolation as { Value: string }[]).map((r) => r.Value))).toEqual(new Set(['READ-COMMITTED']));
    const [[server]] = (await connections.main.query('SELECT VERSION() AS v')) as unknown as [{ v: string }[]];
    if (/mariadb/i.test(server!.v)) {
      const [idle] = await connections.main.query('SELECT @@session.idle_transaction_timeout AS s');
      expect(idle).toEqual([{ s: IDLE_TRANSACTION_TIMEOUT_S }]);
    }
    const store = await db.open();
    await store.migrate();
    const before = Date.now();
    const pod = await store.podRegister({ podId: 'clock-00000001', name: 'clock', meta: META });
    // The server runs on this host: its clock and ours agree within a generous margin.
    expect(Math.abs(pod.birthTs - before)).toBeLessThan(5_000);
  });

  it('re-runs a transaction chosen as a deadlock victim (1213) instead of failing it', async () => {
    const db = await database();
    const connections = new MysqlConnections({ url: db.url, poolSize: 2 });
    cleanups.push(() => connections.end());
    await connections.main.query('CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB');
    await connections.main.query('INSERT INTO pair VALUES (1, 0), (2, 0)');
    let bothLocked!: () => void;
    const locked = new Promise<void>((resolve) => (bothLocked = resolve));
    let lockedCount = 0;
    const runs = [0, 0];
    // Each transaction locks one row, waits until the other has locked the other row, then wants it.
    const crosswise = (first: number, second: number, who: 0 | 1) =>
      inTransaction(connections.main, async (c) => {
        runs[who]!++;
        await run(c, 'UPDATE pair SET n = n + 1 WHERE id = ?', [first]);
        if (runs[who] === 1 && ++lockedCount === 2) bothLocked();
        if (runs[who] === 1) await locked;
        await run(c, 'UPDATE pair SET n = n + 1 WHERE id = ?', [second]);
      });
    await Promise.all([crosswise(1, 2, 0), crosswise(2, 1, 1)]);
    expect(runs.reduce((a, b) => a + b)).toBe(3);
    const [rows] = await connections.main.query('SELECT id, n FROM pair ORDER BY id');
    expect(rows).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
  });

  it('wakes an idle watcher when a delayed step falls due, with no other change, and not before', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    const producer = await db.open();
    const calls: number[] = [];
    const unsubscribe = store.watchWork(() => calls.push(Date.now()));
    cleanups.push(async () => unsubscribe());
    await new Promise((resolve) => setTimeout(resolve, 300));
    calls.length = 0;
    const submitted = Date.now();
    await producer.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 1_000, delayMs: 2_000 });
    const deadline = Date.now() + 5_000;
    while (calls.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.length).toBeGreaterThan(0);
    // Due 2 s after the submit (database clock = this host's); generous on a loaded machine.
    expect(calls[0]! - submitted).toBeGreaterThanOrEqual(1_800);
    expect(calls[0]! - submitted).toBeLessThan(4_000);
  });

  it('locks only the steps a claim takes: a claimer holding the best step leaves the others to the next', async () => {
    const db = await database();
    const store = await db.open();
    await store.migrate();
    await store.podRegister({ podId: 'taker-00000001', name: 'taker', meta: META });
    await store.stepSubmitBatch({
      steps: Array.from({ length: 200 }, (_, i) => ({ type: 'echo', args: { i }, priority: i % 3, maxRetries: 0, timeoutMs: 1_000 })),
    });
    const connections = new MysqlConnections({ url: db.url, poolSize: 1 });
    cleanups.push(() => connections.end());
    // Another claimer's transaction, held open on the claim statement the driver uses.
    const claimPick = (store as unknown as { ctx: { sql: { claimPick: string } } }).ctx.sql.claimPick;
    const held = await connections.main.getConnection();
    try {
      await held.query('START TRANSACTION');
      const [taken] = await held.query(claimPick, [['echo'], Date.now() + 60_000, 5]);
      expect((taken as unknown[]).length).toBe(5);
      const claimed = await store.stepClaim({ podId: 'taker-00000001', types: ['echo'], limit: 10 });
      expect(claimed).toHaveLength(10);
      await held.query('ROLLBACK');
    } finally {
      held.release();
    }
  });
});
