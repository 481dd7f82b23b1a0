/**
 * End to end, cancel: a cancelled running step of a `fleet-q start` pod never completes, its handler
 * sees the abort, the audit trail shows `cancelled` — on SQLite and on PostgreSQL (scenarios/cancel.ts).
 */
import { describe, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { cancelScenario } from './scenarios/cancel.js';

const suite = useE2eSuite();

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
});
