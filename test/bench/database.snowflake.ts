/**
 * The benchmark's Snowflake: the fakesnow emulator, installed and started exactly as the tests start
 * it (test/support/snowflake/emulator.ts), or the one FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL names;
 * one schema per queue, so every measurement starts from empty tables. Owns the benchmark's own
 * connection (application FLEET-Q-BENCH, excluded from statement counts) and the single-row
 * commit loop; never writes a queue's tables.
 *
 * The emulator shows Snowflake's statements, not its latency: steps/s here are the emulator's
 * (each statement is translated in Python over DuckDB), statements per step are the driver's.
 */
import '../../src/store/snowflake/sdk-env.js';
import snowflake from 'snowflake-sdk';
import { startEmulator, type Emulator } from '../support/snowflake/emulator.js';
import type { BenchDatabase, BenchQueue, CommitRate, ProcessingWindow, QueueCounts } from './database.js';
import { BENCH_APPLICATION } from './statements.snowflake.js';

/** The emulator's database (any name works; the emulator accepts any login). */
const DATABASE = 'FLEETQ_BENCH';

/** One connection of the benchmark's own, one statement at a time. */
async function benchConnection(url: string): Promise<{ run: (sqlText: string) => Promise<Record<string, unknown>[]>; close: () => Promise<void> }> {
  snowflake.configure({ logLevel: 'OFF', additionalLogToConsole: false } as Parameters<typeof snowflake.configure>[0]);
  const connection = snowflake.createConnection({
    account: 'fakesnow',
    username: 'fleetq',
    password: 'emulator',
    database: DATABASE,
    accessUrl: url,
    application: BENCH_APPLICATION,
  } as snowflake.ConnectionOptions);
  await new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve())));
  let tail: Promise<unknown> = Promise.resolve();
  const run = (sqlText: string) => {
    const result = tail.then(
      () =>
        new Promise<Record<string, unknown>[]>((resolve, reject) =>
          connection.execute({ sqlText, complete: (err, _stmt, rows) => (err ? reject(err) : resolve((rows ?? []) as Record<string, unknown>[])) }),
        ),
    );
    tail = result.catch(() => undefined);
    return result;
  };
  return { run, close: () => new Promise<void>((resolve) => connection.destroy(() => resolve())) };
}

/** Starts (or reaches) the emulator. */
export async function openSnowflakeBench(): Promise<BenchDatabase> {
  const given = process.env['FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL'];
  const emulator: Emulator | null = given === undefined || given === '' ? await startEmulator() : null;
  const url = emulator?.url ?? given!;
  const own = await benchConnection(url);
  await own.run(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
  const schemas: string[] = [];
  const runId = Math.random().toString(16).slice(2, 8).toUpperCase();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

  return {
    kind: 'snowflake',
    origin: emulator === null ? `FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL (${url})` : `fakesnow emulator started for this run (${url})`,
    version: 'fakesnow 0.12.1 (Snowflake emulator over DuckDB)',
    settings: { emulator: 'true' },
    async queue(name) {
      const schema = `FQ_BENCH_${runId}_${name.toUpperCase()}`;
      schemas.push(schema);
      const t = (table: string) => `${schema}.${table}`;
      const queue: BenchQueue = {
        name,
        env: {
          FLEET_Q_STORAGE_MODE: 'snowflake',
          FLEET_Q_SNOWFLAKE_ACCOUNT: 'fakesnow',
          FLEET_Q_SNOWFLAKE_USER: 'fleetq',
          FLEET_Q_SNOWFLAKE_PASSWORD: 'emulator',
          FLEET_Q_SNOWFLAKE_DATABASE: DATABASE,
          FLEET_Q_SNOWFLAKE_WAREHOUSE: 'BENCH_WH',
          FLEET_Q_SNOWFLAKE_SCHEMA: schema,
          FLEET_Q_SNOWFLAKE_ACCESS_URL: url,
        },
        async counts(): Promise<QueueCounts> {
          const rows = await own.run(`SELECT STATUS, COUNT(*) AS N FROM ${t('STEP_TRACKER')} GROUP BY STATUS`);
          const of = (status: string) => Number(rows.find((r) => r['STATUS'] === status)?.['N'] ?? 0);
          return { pending: of('pending'), claimed: of('claimed'), completed: of('completed'), failed: of('failed') };
        },
        async window(afterEventId = 0): Promise<ProcessingWindow> {
          const [row] = await own.run(
            `SELECT DATE_PART(epoch_millisecond, MIN(CASE WHEN KIND = 'claimed' THEN TS END)) AS FIRST_MS,
                    DATE_PART(epoch_millisecond, MAX(CASE WHEN KIND = 'completed' THEN TS END)) AS LAST_MS,
                    SUM(CASE WHEN KIND = 'completed' THEN 1 ELSE 0 END) AS N, MAX(EVENT_ID) AS LAST_ID
             FROM ${t('STEP_EVENTS')} WHERE EVENT_ID > ${Number(afterEventId)}`,
          );
          return {
            firstClaimMs: num(row?.['FIRST_MS']),
            lastCompleteMs: num(row?.['LAST_MS']),
            completedEvents: Number(row?.['N'] ?? 0),
            lastEventId: num(row?.['LAST_ID']) ?? afterEventId,
          };
        },
        async podsUp() {
          const [row] = await own.run(`SELECT COUNT(*) AS N FROM ${t('POD_HEALTH')} WHERE STATUS = 'up'`);
          return Number(row?.['N'] ?? 0);
        },
      };
      return queue;
    },
    async commitLoop(concurrency, seconds): Promise<CommitRate> {
      // One connection, like the store's one statement per session: the emulator serializes anyway.
      const schema = `FQ_BENCH_${runId}_COMMIT`;
      schemas.push(schema);
      await own.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await own.run(`CREATE TABLE IF NOT EXISTS ${schema}.BENCH_COMMIT (ID INT, N INT)`);
      await own.run(`INSERT INTO ${schema}.BENCH_COMMIT VALUES (1, 0)`);
      const started = performance.now();
      const deadline = started + seconds * 1000;
      let commits = 0;
      while (performance.now() < deadline) {
        await own.run(`UPDATE ${schema}.BENCH_COMMIT SET N = N + 1 WHERE ID = 1`);
        commits++;
      }
      const elapsed = (performance.now() - started) / 1000;
      return { concurrency: Math.min(concurrency, 1), commits, seconds: elapsed, perSecond: commits / elapsed };
    },
    serverCpu: async () => null,
    async close({ keep }) {
      if (!keep) for (const schema of schemas) await own.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await own.close();
      await emulator?.stop();
    },
  };
}
