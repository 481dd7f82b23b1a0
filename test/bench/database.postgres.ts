/**
 * The benchmark's PostgreSQL: FLEET_Q_DATABASE_URL, else a throw-away embedded server; one fresh
 * schema per run, one table prefix per queue, so every measurement starts from empty tables and
 * indexes. Owns the benchmark's own connections (excluded from statement counts) and the
 * single-row commit loop; never writes a queue's tables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { processCpuMicros } from './cpu.js';
import type { BenchDatabase, BenchQueue, CommitRate, ProcessingWindow, QueueCounts, ServerCpuMeter } from './database.js';
import type { StatementCounter } from './statement-counter.js';
import { pgStatementLabels } from './statements.pg.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';

/** Connects a client the counter ignores. */
async function benchClient(url: string, counter: StatementCounter): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'fleet-q bench' });
  counter.exclude(client);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Opens the run's database and creates its schema. */
export async function openPostgresBench(counter: StatementCounter): Promise<BenchDatabase> {
  const fromEnv = process.env['FLEET_Q_DATABASE_URL'];
  const server = fromEnv === undefined || fromEnv === '' ? await startThrowawayPostgres() : undefined;
  const url = server?.url ?? fromEnv!;
  const admin = await benchClient(url, counter);
  const schema = `fq_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const setting = async (name: string) => String((await admin.query(`SHOW ${name}`)).rows[0]?.[name] ?? '');
  const settings = {
    synchronous_commit: await setting('synchronous_commit'),
    fsync: await setting('fsync'),
    shared_buffers: await setting('shared_buffers'),
  };
  const version = await setting('server_version');
  const table = (prefix: string, name: string) => `${schema}."${prefix}${name}"`;

  return {
    kind: 'postgres',
    origin: server === undefined ? `FLEET_Q_DATABASE_URL (${new URL(url).host})` : 'throw-away embedded server',
    version: `PostgreSQL ${version}`,
    settings,
    async queue(name) {
      const prefix = `${name}_`;
      counter.addLabels(pgStatementLabels(schema, prefix));
      const queue: BenchQueue = {
        name,
        env: { FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: url, FLEET_Q_DB_SCHEMA: schema, FLEET_Q_TABLE_PREFIX: prefix },
        async counts(): Promise<QueueCounts> {
          const { rows } = await admin.query<{ status: string; n: number }>(
            `SELECT status, count(*)::int AS n FROM ${table(prefix, 'step_tracker')} GROUP BY status`,
          );
          const of = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
          return { pending: of('pending'), claimed: of('claimed'), completed: of('completed'), failed: of('failed') };
        },
        async window(afterEventId = 0): Promise<ProcessingWindow> {
          const { rows } = await admin.query<{ first_ms: number | null; last_ms: number | null; n: number; last_id: string | null }>(
            `SELECT (extract(epoch FROM min(ts) FILTER (WHERE kind = 'claimed')) * 1000)::float8 AS first_ms,
                    (extract(epoch FROM max(ts) FILTER (WHERE kind = 'completed')) * 1000)::float8 AS last_ms,
                    (count(*) FILTER (WHERE kind = 'completed'))::int AS n, max(event_id) AS last_id
             FROM ${table(prefix, 'step_events')} WHERE event_id > $1`,
            [afterEventId],
          );
          const row = rows[0]!;
          return { firstClaimMs: row.first_ms, lastCompleteMs: row.last_ms, completedEvents: row.n, lastEventId: Number(row.last_id ?? afterEventId) };
        },
        async podsUp() {
          const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table(prefix, 'pod_health')} WHERE status = 'up'`);
          return rows[0]!.n;
        },
      };
      return queue;
    },
    async commitLoop(concurrency, seconds): Promise<CommitRate> {
      await admin.query(`CREATE TABLE IF NOT EXISTS ${schema}.bench_commit (id int PRIMARY KEY, n bigint NOT NULL)`);
      await admin.query(`INSERT INTO ${schema}.bench_commit SELECT g, 0 FROM generate_series(1, $1::int) g ON CONFLICT DO NOTHING`, [concurrency]);
      const clients = await Promise.all(Array.from({ length: concurrency }, () => benchClient(url, counter)));
      const started = performance.now();
      const deadline = started + seconds * 1000;
      const loops = clients.map(async (client, i) => {
        let commits = 0;
        const update = { name: 'bench_commit', text: `UPDATE ${schema}.bench_commit SET n = n + 1 WHERE id = $1`, values: [i + 1] };
        while (performance.now() < deadline) {
          await client.query('BEGIN');
          await client.query(update);
          await client.query('COMMIT');
          commits++;
        }
        return commits;
      });
      const commits = (await Promise.all(loops)).reduce((a, b) => a + b, 0);
      const elapsed = (performance.now() - started) / 1000;
      await Promise.all(clients.map((c) => c.end()));
      return { concurrency, commits, seconds: elapsed, perSecond: commits / elapsed };
    },
    async serverCpu(): Promise<ServerCpuMeter | null> {
      // Every process of the server (backends and background workers) that this machine can see;
      // connections opened meanwhile count from their start. One that ends meanwhile is lost, but the
      // pods' pooled connections outlive a run.
      const readAll = async (): Promise<Map<number, number>> => {
        const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity');
        const times = await Promise.all(rows.map(async ({ pid }) => [pid, await processCpuMicros(pid, 'postgres')] as const));
        return new Map(times.filter((t): t is readonly [number, number] => t[1] !== null));
      };
      const before = await readAll();
      if (before.size === 0) return null;
      return async () => {
        let micros = 0;
        for (const [pid, now] of await readAll()) micros += now - (before.get(pid) ?? 0);
        return micros;
      };
    },
    async close({ keep }) {
      if (!keep) await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await admin.end();
      await server?.stop();
    },
  };
}
