/**
 * End to end, SIGSTOP: a pod frozen while holding claims past the dead-pod threshold, then woken.
 * Its steps are recovered and completed by others, its late writes are rejected as stale, and it
 * re-registers as a new incarnation — on SQLite and on PostgreSQL (scenarios/sigstop.ts).
 */
import { describe, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { sigstopScenario } from './scenarios/sigstop.js';

const suite = useE2eSuite();

describe('SIGSTOP past the threshold, then SIGCONT', () => {
  it('on SQLite', async () => {
    await withQueue(sqliteQueue, (queue) => sigstopScenario(suite.cli, queue));
  }, 120_000);

  it('on PostgreSQL', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => sigstopScenario(suite.cli, queue),
    );
  }, 120_000);
});
