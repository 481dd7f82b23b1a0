/**
 * End to end, cancel: a cancelled running step of a `fleet-q start` pod never completes, its handler
 * sees the abort, the audit trail shows `cancelled` — on SQLite, PostgreSQL, MySQL / MariaDB when its
 * tests run, and Snowflake (the emulator, on Snowflake-sized timings) when it is available or
 * required (scenarios/cancel.ts).
 */
import { describe, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { mysqlTestsRun, requireTestMysqlUrl } from '../support/mysql.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { mysqlQueue, postgresQueue, snowflakeQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { cancelScenario } from './scenarios/cancel.js';
import { SNOWFLAKE_TIMING_ENV } from './scenarios/sigkill-snowflake.js';

const suite = useE2eSuite();
const mysqlRuns = await mysqlTestsRun('test/e2e/cancel.test.ts');
const snowflakeUrl = emulatorUrl();
const snowflakeRuns = snowflakeUrl !== undefined || requiredStores().has('snowflake');

describe('a cancelled running step never completes', () => {
  it('on SQLite', async () => {
    await withQueue(sqliteQueue, (queue) => cancelScenario(suite.cli, queue));
  }, 90_000);

  it('on PostgreSQL', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => cancelScenario(suite.cli, queue),
    );
  }, 90_000);

  it.skipIf(!mysqlRuns)(
    'on MySQL / MariaDB',
    async () => {
      await withQueue(
        async () => mysqlQueue(requireTestMysqlUrl()),
        (queue) => cancelScenario(suite.cli, queue),
      );
    },
    90_000,
  );

  it.skipIf(!snowflakeRuns)(
    'on Snowflake (emulator)',
    async () => {
      const queue = async () => {
        if (snowflakeUrl === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
        return snowflakeQueue(snowflakeUrl);
      };
      const claimIntervalMs = Number(SNOWFLAKE_TIMING_ENV['FLEET_Q_CLAIM_INTERVAL_SECONDS']) * 1000;
      await withQueue(queue, (q) => cancelScenario(suite.cli, q, { env: SNOWFLAKE_TIMING_ENV, claimIntervalMs }));
    },
    180_000,
  );
});
