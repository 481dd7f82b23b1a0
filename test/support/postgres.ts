/**
 * PostgreSQL for tests: where to connect, and a schema of its own for each test file or case.
 * The URL is `FLEET_Q_TEST_DATABASE_URL` when set; otherwise the throw-away server that
 * `postgres.global-setup.ts` started for this vitest run. Owns test connections only: no assertions,
 * nothing from the store's driver.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** What the global setup hands to every test worker. */
export interface ProvidedPostgres {
  /** A URL to a database the tests may create schemas in, or null when none could be had. */
  readonly url: string | null;
  /** Why there is no URL (the embedded server failed to start), or null. */
  readonly reason: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fleetQPostgres: ProvidedPostgres;
  }
}

/** The provided value, or a reason when the global setup did not run (another vitest config). */
function provided(): ProvidedPostgres {
  try {
    return inject('fleetQPostgres') ?? { url: null, reason: 'the PostgreSQL global setup did not run' };
  } catch (err) {
    return { url: null, reason: `no vitest context to inject from: ${(err as Error).message}` };
  }
}

/** `FLEET_Q_TEST_DATABASE_URL`, else the run's throw-away server; undefined when neither is there. */
export async function testDatabaseUrl(): Promise<string | undefined> {
  const fromEnv = process.env['FLEET_Q_TEST_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return provided().url ?? undefined;
}

/** Why `testDatabaseUrl()` is undefined, for skip reasons and failure messages. */
export function testDatabaseUnavailableReason(): string {
  return provided().reason ?? 'FLEET_Q_TEST_DATABASE_URL is unset and no server was provided';
}

/** The URL, or a thrown error saying why there is none: for tests that are about PostgreSQL itself. */
export async function requireTestDatabaseUrl(): Promise<string> {
  const url = await testDatabaseUrl();
  if (url === undefined) throw new Error(`no PostgreSQL for this test: ${testDatabaseUnavailableReason()}`);
  return url;
}

/** Runs `statements` on a short-lived client of `url`; `config` adds session settings (e.g. startup `options`). */
export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>, config: pg.ClientConfig = {}): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'fleet-q tests', ...config });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A new, empty schema with a random name, so test files (and cases) running at once never share
 * tables; `drop()` removes it with everything in it.
 */
export async function freshSchema(url: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `fq_test_${randomBytes(6).toString('hex')}`;
  await withClient(url, (c) => c.query(`CREATE SCHEMA "${schema}"`));
  return {
    schema,
    drop: () => withClient(url, async (c) => void (await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))),
  };
}
