/**
 * End to end on MySQL / MariaDB: the same SIGKILL (a follower, then the leader), SIGSTOP and SIGTERM
 * scenarios as on SQLite and PostgreSQL (scenarios/), on three real `fleet-q start` processes sharing
 * one fresh database of the server at FLEET_Q_TEST_MYSQL_URL. Without that server the file reports
 * that it did not run, unless FLEET_Q_REQUIRE_STORES names mysql (then it fails).
 */
import { describe, it } from 'vitest';
import { mysqlTestsRun, requireTestMysqlUrl } from '../support/mysql.js';
import { mysqlQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { sigkillScenario } from './scenarios/sigkill.js';
import { sigstopScenario } from './scenarios/sigstop.js';
import { sigtermScenario } from './scenarios/sigterm.js';

const suite = useE2eSuite();
const run = await mysqlTestsRun('test/e2e/mysql.test.ts');
const queue = async () => mysqlQueue(requireTestMysqlUrl());

describe.skipIf(!run)('on MySQL / MariaDB', () => {
  it('SIGKILL of a follower holding claims: every step completes exactly once, its claims within the recovery bound', async () => {
    await withQueue(queue, (q) => sigkillScenario(suite.cli, q, 'follower'));
  }, 120_000);

  it('SIGKILL of the leader: leadership passes to the next eldest and the work completes', async () => {
    await withQueue(queue, (q) => sigkillScenario(suite.cli, q, 'leader'));
  }, 120_000);

  it('SIGSTOP past the threshold, then SIGCONT: recovered elsewhere, late writes stale, re-registered', async () => {
    await withQueue(queue, (q) => sigstopScenario(suite.cli, q));
  }, 120_000);

  it('SIGTERM drains the pod: released steps complete elsewhere, row down, exit 0', async () => {
    await withQueue(queue, (q) => sigtermScenario(suite.cli, q));
  }, 90_000);
});
