/**
 * End to end, SIGTERM: a pod holding steps longer than its 1 s grace drains — 503 `draining`, its
 * steps released and completed by another pod, its row `down`, exit 0 — on SQLite and on PostgreSQL
 * (scenarios/sigterm.ts).
 */
import { describe, it } from 'vitest';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue, sqliteQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { sigtermScenario } from './scenarios/sigterm.js';

const suite = useE2eSuite();

describe('SIGTERM drains the pod', () => {
  it('on SQLite', async () => {
    await withQueue(sqliteQueue, (queue) => sigtermScenario(suite.cli, queue));
  }, 90_000);

  it('on PostgreSQL', async () => {
    await withQueue(
      async () => postgresQueue(await requireTestDatabaseUrl()),
      (queue) => sigtermScenario(suite.cli, queue),
    );
  }, 90_000);
});
