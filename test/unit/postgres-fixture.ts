/**
 * Shared setup of the PostgreSQL driver tests: a fresh schema per test and stores opened on it,
 * all closed and dropped afterwards. Owns no assertions; the rules checked live in the test files.
 */
import { randomBytes } from 'node:crypto';
import { afterEach } from 'vitest';
import type { StoreError } from '../../src/errors.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/driver.js';
import type { StorePolicy } from '../../src/store/store.js';
import { freshSchema, requireTestDatabaseUrl } from '../support/postgres.js';

export const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
export const SUBMIT = { type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 } as const;

export interface PgTestDatabase {
  /** The URL stores of this test open (tagged with `application_name` = schema when asked). */
  readonly url: string;
  /** The URL without the tag, for connections the test must not find among its own. */
  readonly baseUrl: string;
  readonly schema: string;
  /** Opens a store on this schema (closed after the test); errors reported by it land in `errors`. */
  open(options?: Partial<PostgresStoreOptions>): Promise<PostgresStore>;
  /** Background errors every store of this test reported through `onError`. */
  readonly errors: StoreError[];
}

/**
 * Call at the top of a test file: each test gets `await database()`, a fresh schema with stores
 * opened on it. `tag` sets `application_name`, so a test can find (and terminate) exactly its own
 * backends among those of test files running at the same time.
 */
export function pgTestDatabases(): (options?: { readonly tag?: boolean }) => Promise<PgTestDatabase> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (options = {}) => {
    const base = await requireTestDatabaseUrl();
    const { schema, drop } = await freshSchema(base);
    const url = options.tag === true ? withApplicationName(base, schema) : base;
    const stores: PostgresStore[] = [];
    const errors: StoreError[] = [];
    cleanups.push(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await drop();
    });
    return {
      url,
      baseUrl: base,
      schema,
      errors,
      async open(extra = {}) {
        const store = await openPostgresStore({ url, schema, policy: POLICY, poolSize: 4, onError: (e) => errors.push(e), ...extra });
        stores.push(store);
        return store;
      },
    };
  };
}

/** The URL with `application_name` set; it takes precedence over the driver's own name. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}
