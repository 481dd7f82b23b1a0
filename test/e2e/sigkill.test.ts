/**
 * End to end, SIGKILL: three real `fleet-q start` processes, 300 steps, one pod killed without
 * warning — a follower, then (second run) the leader — on SQLite and on PostgreSQL. The scenario
 * and its assertions are in scenarios/sigkill.ts.
 */
import { describe, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { sigkillScenario } from './scenarios/sigkill.js';

const suite = useE2eSuite();
const pgQueue = async () => postgresQueue(await requireTestDatabaseUrl());

describe('SIGKILL on SQLite', () => {
  it('a follower holding claims: every step completes exactly once, its claims within the recovery bound', async () => {
    await withQueue(sqliteQueue, (queue) => sigkillScenario(suite.cli, queue, 'follower'));
  }, 120_000);

  it('the leader: leadership passes to the next eldest and the work completes', async () => {
    await withQueue(sqliteQueue, (queue) => sigkillScenario(suite.cli, queue, 'leader'));
  }, 120_000);
});

describe('SIGKILL on PostgreSQL', () => {
  it('a follower holding claims: every step completes exactly once, its claims within the recovery bound', async () => {
    await withQueue(pgQueue, (queue) => sigkillScenario(suite.cli, queue, 'follower'));
  }, 120_000);

  it('the leader: leadership passes to the next eldest and the work completes', async () => {
    await withQueue(pgQueue, (queue) => sigkillScenario(suite.cli, queue, 'leader'));
  }, 120_000);
});
