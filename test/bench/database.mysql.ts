/**
 * The benchmark's MySQL / MariaDB: the server at FLEET_Q_DATABASE_URL when it is a mysql:// URL,
 * else FLEET_Q_TEST_MYSQL_URL (there is no throw-away server); one fresh database per run, one table
 * prefix per queue, so every measurement starts from empty tables and indexes. Owns the benchmark's
 * own connections (excluded from statement counts) and the single-row commit loop; never writes a
 * queue's tables.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { BenchDatabase, BenchQueue, CommitRate, ProcessingWindow, QueueCounts } from './database.js';
import type { StatementCounter } from './statement-counter.js';
import { mysqlStatementLabels } from './statements.mysql.js';

/** The server URL to benchmark, or an Error saying how to name one. */
function serverUrl(): string {
  const fromEnv = process.env['FLEET_Q_DATABASE_URL'];
  if (fromEnv !== undefined && /^(mysql|mariadb):/.test(fromEnv)) return fromEnv;
  const test = process.env['FLEET_Q_TEST_MYSQL_URL'];
  if (test !== undefined && test !== '') return test;
  throw new Error('--store mysql needs a server: set FLEET_Q_DATABASE_URL=mysql://user:password@host:3306/database (or FLEET_Q_TEST_MYSQL_URL)');
}

/** A connection the counter ignores (the bench's own reads and the commit loop). */
async function benchConnection(url: string, counter: StatementCounter): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({ uri: url });
  counter.exclude((connection as unknown as { connection: object }).connection);
  connection.on('error', () => undefined);
  return connection;
}

/** Opens the run's server and creates its database. */
export async function openMysqlBench(counter: StatementCounter): Promise<BenchDatabase> {
  const base = serverUrl();
  const admin = await benchConnection(base, counter);
  const database = `fq_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const target = new URL(base);
  target.pathname = `/${database}`;
  const url = target.toString();
  const variable = async (name: string) => {
    const [rows] = await admin.query(`SELECT @@${name} AS v`);
    return String((rows as { v: unknown }[])[0]?.v ?? '');
  };
  const settings = {
    innodb_flush_log_at_trx_commit: await variable('innodb_flush_log_at_trx_commit'),
    sync_binlog: await variable('sync_binlog'),
    log_bin: await variable('log_bin'),
    innodb_buffer_pool_size: await variable('innodb_buffer_pool_size'),
  };
  const version = await variable('version');
  const table = (prefix: string, name: string) => `${database}.\`${prefix}${name}\``;
  const one = async <R>(sql: string): Promise<R> => ((await admin.query(sql))[0] as R[])[0]!;

  return {
    kind: 'mysql',
    origin: `${base === process.env['FLEET_Q_DATABASE_URL'] ? 'FLEET_Q_DATABASE_URL' : 'FLEET_Q_TEST_MYSQL_URL'} (${target.host})`,
    version: /mariadb/i.test(version) ? `MariaDB ${version}` : `MySQL ${version}`,
    settings,
    async queue(name) {
      const prefix = `${name}_`;
      counter.addLabels(mysqlStatementLabels(prefix));
      const queue: BenchQueue = {
        name,
        env: { FLEET_Q_STORAGE_MODE: 'mysql', FLEET_Q_DATABASE_URL: url, FLEET_Q_TABLE_PREFIX: prefix },
        async counts(): Promise<QueueCounts> {
          const [rows] = await admin.query(`SELECT status, COUNT(*) AS n FROM ${table(prefix, 'step_tracker')} GROUP BY status`);
          const of = (status: string) => Number((rows as { status: string; n: number }[]).find((r) => r.status === status)?.n ?? 0);
          return { pending: of('pending'), claimed: of('claimed'), completed: of('completed'), failed: of('failed') };
        },
        async window(afterEventId = 0): Promise<ProcessingWindow> {
          const events = `${table(prefix, 'step_events')} WHERE event_id > ${Number(afterEventId)}`;
          const row = await one<{ first_ms: number | null; last_ms: number | null; n: number | string; last_id: number | string | null }>(
            `SELECT (SELECT MIN(ts) FROM ${events} AND kind = 'claimed') AS first_ms,
                    (SELECT MAX(ts) FROM ${events} AND kind = 'completed') AS last_ms,
                    (SELECT COUNT(*) FROM ${events} AND kind = 'completed') AS n,
                    (SELECT MAX(event_id) FROM ${events}) AS last_id`,
          );
          const num = (v: number | string | null) => (v === null ? null : Number(v));
          return {
            firstClaimMs: num(row.first_ms),
            lastCompleteMs: num(row.last_ms),
            completedEvents: Number(row.n),
            lastEventId: num(row.last_id) ?? afterEventId,
          };
        },
        async podsUp() {
          return Number((await one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table(prefix, 'pod_health')} WHERE status = 'up'`)).n);
        },
      };
      return queue;
    },
    async commitLoop(concurrency, seconds): Promise<CommitRate> {
      await admin.query(`CREATE TABLE IF NOT EXISTS ${database}.bench_commit (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB`);
      await admin.query(`INSERT IGNORE INTO ${database}.bench_commit VALUES ?`, [Array.from({ length: concurrency }, (_, i) => [i + 1, 0])]);
      const connections = await Promise.all(Array.from({ length: concurrency }, () => benchConnection(url, counter)));
      const started = performance.now();
      const deadline = started + seconds * 1000;
      const loops = connections.map(async (connection, i) => {
        let commits = 0;
        while (performance.now() < deadline) {
          await connection.query('START TRANSACTION');
          await connection.query(`UPDATE bench_commit SET n = n + 1 WHERE id = ?`, [i + 1]);
          await connection.query('COMMIT');
          commits++;
        }
        return commits;
      });
      const commits = (await Promise.all(loops)).reduce((a, b) => a + b, 0);
      const elapsed = (performance.now() - started) / 1000;
      await Promise.all(connections.map((c) => c.end()));
      return { concurrency, commits, seconds: elapsed, perSecond: commits / elapsed };
    },
    serverCpu: async () => null,
    async close({ keep }) {
      if (!keep) await admin.query(`DROP DATABASE ${database}`).catch(() => undefined);
      await admin.end();
    },
  };
}
