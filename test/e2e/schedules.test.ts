/**
 * End to end, recurring schedules through a leader SIGKILL (scenarios/schedules.ts): on SQLite,
 * PostgreSQL and, when reachable, MySQL / MariaDB, a schedule ticking every second makes exactly one
 * step per tick with no gap; GET /admin/schedules names the last tick's step; bad schedules stop
 * `fleet-q start` with exit 2 before it opens a database.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mysqlTestsRun, requireTestMysqlUrl } from '../support/mysql.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { mysqlQueue, postgresQueue, sqliteQueue } from './database.js';
import { cleanEnv, useE2eSuite, withQueue } from './harness.js';
import { runCli } from './http.js';
import { TIMING_ENV } from './timing.js';
import { adminRouteNamesLastTick, scheduleThroughLeaderKill } from './scenarios/schedules.js';

const suite = useE2eSuite();
const mysqlRuns = await mysqlTestsRun('test/e2e/schedules.test.ts');

describe('a schedule through a leader SIGKILL on SQLite', () => {
  it('makes exactly one step per tick, with no gap', async () => {
    await withQueue(sqliteQueue, (queue) => scheduleThroughLeaderKill(suite.cli, queue));
  }, 120_000);

  it('GET /admin/schedules names the last tick enqueued and the next one', async () => {
    await withQueue(sqliteQueue, (queue) => adminRouteNamesLastTick(suite.cli, queue));
  }, 60_000);
});

describe('bad schedules', () => {
  it('fleet-q start exits 2 naming every problem, and opens no database', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const run = await runCli(suite.cli, ['start'], {
        cwd: queue.dir,
        env: { ...cleanEnv(), ...TIMING_ENV, ...queue.env, FLEET_Q_HANDLERS: join(import.meta.dirname, 'fixtures', 'bad-schedules.mjs') },
        timeoutMs: 20_000,
      });
      expect(run).toMatchObject({ code: 2, signal: null, stdout: '' });
      for (const loc of ['schedules[1].type', 'schedules[1].cron', 'schedules[1].timezone']) expect(run.stderr).toContain(loc);
      expect(existsSync(queue.env['FLEET_Q_SQLITE_DB_PATH']!)).toBe(false);
    });
  }, 30_000);
});

describe('a schedule through a leader SIGKILL on PostgreSQL', () => {
  it('makes exactly one step per tick, with no gap', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => scheduleThroughLeaderKill(suite.cli, queue),
    );
  }, 120_000);
});

describe.skipIf(!mysqlRuns)('a schedule through a leader SIGKILL on MySQL / MariaDB', () => {
  it('makes exactly one step per tick, with no gap', async () => {
    await withQueue(
      async () => mysqlQueue(requireTestMysqlUrl()),
      (queue) => scheduleThroughLeaderKill(suite.cli, queue),
    );
  }, 120_000);
});
