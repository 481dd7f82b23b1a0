/**
 * End to end, recurring schedules through a leader SIGKILL (scenarios/schedules.ts): on SQLite,
 * PostgreSQL and, when reachable, MySQL / MariaDB, a schedule ticking every second makes exactly one
 * step per tick with no gap; GET /admin/schedules names the last tick's step.
 */
import { describe, it } from 'vitest';
import { mysqlTestsRun, requireTestMysqlUrl } from '../support/mysql.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { mysqlQueue, postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
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
