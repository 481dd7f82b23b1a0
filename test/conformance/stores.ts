/**
 * The registry of stores the conformance suite runs against: one entry per driver. Adding a store is
 * adding one entry to `STORE_FACTORIES`; the cases never name a driver.
 * Owns how a test gets a fresh, isolated database (SQLite: a new file in its own temp dir). It must not
 * hold assertions, and nothing here may reach past the `Store` interface into a driver's tables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store, StorePolicy } from '../../src/store/store.js';

/** The stores a registry entry may stand for. */
export type StoreName = 'sqlite' | 'postgres' | 'snowflake' | 'mysql';

/** How to open a store on a database. */
export interface OpenOptions {
  /** Table prefix (FLEET_Q_TABLE_PREFIX); none by default. */
  readonly tablePrefix?: string;
  /** Run `migrate()` before handing the store over (default true). */
  readonly migrate?: boolean;
}

/** One isolated database, and every store instance opened on it. */
export interface OpenedStore {
  readonly store: Store;
  /**
   * Another store instance with its own connection on the same database, as a second pod process
   * would open it (same prefix unless `options.tablePrefix` says otherwise). Closed by `cleanup`.
   */
  openPeer(options?: OpenOptions): Promise<Store>;
  /** Closes every instance and removes the database (file, schema or prefix). */
  cleanup(): Promise<void>;
}

/** One registry entry: how to reach one kind of store and open fresh, isolated instances of it. */
export interface StoreFactory {
  readonly name: StoreName;
  /** `true` when this store can be reached here; otherwise `false` or the reason it cannot. */
  available(): Promise<boolean | string>;
  /** A fresh database nothing else uses, with a store opened on it under `policy`. */
  open(policy: StorePolicy, options?: OpenOptions): Promise<OpenedStore>;
  /** A longer case timeout for a slow store (the Snowflake emulator); the run's default otherwise. */
  readonly testTimeoutMs?: number;
}

/**
 * Opens the first store and hands out peers on the same database: `openDriver` opens one instance
 * (with the prefix asked for), `removeDatabase` runs after every instance has closed.
 */
async function instancesOn(
  openDriver: (tablePrefix: { tablePrefix?: string }) => Promise<Store>,
  options: OpenOptions,
  removeDatabase: () => Promise<void>,
): Promise<OpenedStore> {
  const stores: Store[] = [];
  const openOne = async (opts: OpenOptions): Promise<Store> => {
    const store = await openDriver(opts.tablePrefix === undefined ? {} : { tablePrefix: opts.tablePrefix });
    stores.push(store);
    if (opts.migrate ?? true) await store.migrate();
    return store;
  };
  const store = await openOne(options);
  return {
    store,
    openPeer: (peerOptions = {}) => openOne({ tablePrefix: options.tablePrefix, ...peerOptions }),
    async cleanup() {
      await Promise.all(stores.map((s) => s.close()));
      await removeDatabase();
    },
  };
}

/** Imported lazily so that the suite loads (and reports why) even when a driver cannot be loaded. */
async function loadSqliteDriver(): Promise<typeof import('../../src/store/sqlite/driver.js')> {
  return import('../../src/store/sqlite/driver.js');
}

const sqlite: StoreFactory = {
  name: 'sqlite',
  async available() {
    try {
      await loadSqliteDriver();
      return true;
    } catch (err) {
      return `the SQLite driver does not load: ${(err as Error).message}`;
    }
  },
  async open(policy, options = {}) {
    const { openSqliteStore } = await loadSqliteDriver();
    const dir = await mkdtemp(join(tmpdir(), 'fleet-q-conformance-'));
    const path = join(dir, 'queue.db');
    return instancesOn(
      (prefix) => openSqliteStore({ path, policy, ...prefix }),
      options,
      () => rm(dir, { recursive: true, force: true }),
    );
  },
};

/** Imported lazily, like the SQLite driver: a machine without `pg` still runs the rest of the suite. */
async function loadPostgres(): Promise<[typeof import('../../src/store/postgres/driver.js'), typeof import('../support/postgres.js')]> {
  return Promise.all([import('../../src/store/postgres/driver.js'), import('../support/postgres.js')]);
}

/**
 * PostgreSQL: FLEET_Q_TEST_DATABASE_URL, or the run's throw-away server (test/support); each test
 * gets a schema of its own, dropped by `cleanup`. Small pools: many tests run at once on one server.
 */
const postgres: StoreFactory = {
  name: 'postgres',
  async available() {
    try {
      const [, support] = await loadPostgres();
      return (await support.testDatabaseUrl()) !== undefined || `no PostgreSQL: ${support.testDatabaseUnavailableReason()}`;
    } catch (err) {
      return `the PostgreSQL driver does not load: ${(err as Error).message}`;
    }
  },
  async open(policy, options = {}) {
    const [{ openPostgresStore }, support] = await loadPostgres();
    const url = await support.requireTestDatabaseUrl();
    const { schema, drop } = await support.freshSchema(url);
    return instancesOn((prefix) => openPostgresStore({ url, schema, policy, poolSize: 4, ...prefix }), options, drop);
  },
};

/** Imported lazily, like the other drivers: a machine without `mysql2` still runs the rest of the suite. */
async function loadMysql(): Promise<[typeof import('../../src/store/mysql/driver.js'), typeof import('../support/mysql.js')]> {
  return Promise.all([import('../../src/store/mysql/driver.js'), import('../support/mysql.js')]);
}

/**
 * MySQL / MariaDB: FLEET_Q_TEST_MYSQL_URL (no throw-away server); each test gets a database of its
 * own, dropped by `cleanup`. Small pools: many tests run at once on one server.
 */
const mysql: StoreFactory = {
  name: 'mysql',
  async available() {
    try {
      const [, support] = await loadMysql();
      const reason = await support.testMysqlUnavailableReason();
      return reason === undefined || `no MySQL: ${reason}`;
    } catch (err) {
      return `the MySQL driver does not load: ${(err as Error).message}`;
    }
  },
  async open(policy, options = {}) {
    const [{ openMysqlStore }, support] = await loadMysql();
    const db = await support.freshDatabase(support.requireTestMysqlUrl());
    return instancesOn((prefix) => openMysqlStore({ url: db.url, policy, poolSize: 4, ...prefix }), options, db.drop);
  },
};

/** Imported lazily, like the others: a machine without snowflake-sdk still runs the rest of the suite. */
async function loadSnowflake(): Promise<[typeof import('../../src/store/snowflake/driver.js'), typeof import('../support/snowflake.js')]> {
  return Promise.all([import('../../src/store/snowflake/driver.js'), import('../support/snowflake.js')]);
}

/**
 * Snowflake: the run's emulator (test/support/snowflake/); each test gets a schema of its own, dropped
 * by `cleanup`. `watchWork` polls every 100 ms here (1 s backing off to 30 s by default) so the
 * wake-up case holds the store to the same one-second promise as the others.
 */
const snowflake: StoreFactory = {
  name: 'snowflake',
  // The emulator translates every statement in Python: 20–50 ms each, so the randomized cases
  // (hundreds of operations) need minutes, not the default 30 s.
  testTimeoutMs: 240_000,
  async available() {
    try {
      const [, support] = await loadSnowflake();
      return support.emulatorUrl() !== undefined || `no Snowflake emulator: ${support.emulatorUnavailableReason()}`;
    } catch (err) {
      return `the Snowflake driver does not load: ${(err as Error).message}`;
    }
  },
  async open(policy, options = {}) {
    const [{ openSnowflakeStore }, support] = await loadSnowflake();
    const url = support.emulatorUrl();
    if (url === undefined) throw new Error(`no Snowflake emulator: ${support.emulatorUnavailableReason()}`);
    const schema = support.freshSnowflakeSchema();
    const login = support.emulatorLogin(url);
    return instancesOn(
      (prefix) => openSnowflakeStore({ login, schema, policy, poolSize: 2, watch: { intervalMs: 100, maxIntervalMs: 200 }, ...prefix }),
      options,
      () => support.dropSnowflakeSchema(url, schema),
    );
  },
};

/** Every store the suite knows, in the order it runs them. */
export const STORE_FACTORIES: readonly StoreFactory[] = [sqlite, postgres, mysql, snowflake];

/**
 * Stores that must run: `FLEET_Q_REQUIRE_STORES` (comma list). Unset, only `sqlite` is required: it
 * needs nothing outside the repository, so its absence is always a defect rather than an environment gap.
 */
export function requiredStores(env: string | undefined = process.env['FLEET_Q_REQUIRE_STORES']): Set<string> {
  if (env === undefined) return new Set(['sqlite']);
  return new Set(
    env
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}
