/**
 * End to end, no fault, at the smallest accepted setting (heartbeat 1 s, threshold 3 s, default
 * latency budget): two real `fleet-q start` processes for 30 s on SQLite and on PostgreSQL, one
 * incarnation each, every step completed at attempt 1. The scenario is in scenarios/minimum-setting.ts.
 */
import { describe, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { minimumSettingScenario } from './scenarios/minimum-setting.js';

const suite = useE2eSuite();
const pgQueue = async () => postgresQueue(await requireTestDatabaseUrl());

describe('smallest accepted liveness setting, no fault', () => {
  it('SQLite: two pods stay one incarnation each and complete every step at attempt 1', async () => {
    await withQueue(sqliteQueue, (queue) => minimumSettingScenario(suite.cli, queue));
  }, 150_000);

  it('PostgreSQL: two pods stay one incarnation each and complete every step at attempt 1', async () => {
    await withQueue(pgQueue, (queue) => minimumSettingScenario(suite.cli, queue));
  }, 150_000);
});
