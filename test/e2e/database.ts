/**
 * The queue an end-to-end scenario runs on, per store: the `FLEET_Q_*` variables that point pods and
 * the CLI at it (a SQLite file in a temp dir, or a fresh PostgreSQL schema), a work directory for the
 * pods (cwd, execution log), and a read-only view of the store for assertions on `step_tracker`,
 * `step_events` and `pod_health`. Scenarios are written once against `QueueDatabase`. Owns setup and
 * teardown of the queue; it never writes to it (pods and producers do).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMysqlStore } from '../../src/store/mysql/driver.js';
import { openPostgresStore } from '../../src/store/postgres/driver.js';
import { openSqliteStore } from '../../src/store/sqlite/driver.js';
import type { Store, StorePolicy } from '../../src/store/store.js';
import { freshDatabase } from '../support/mysql.js';
import { freshSchema } from '../support/postgres.js';
import { TIMING } from './timing.js';

/** The reads assertions need, and nothing that writes. */
export type QueueReader = Pick<Store, 'stepGet' | 'stepList' | 'eventList' | 'podList' | 'leaderGet' | 'queueStats' | 'dlqList'> & {
  close(): Promise<void>;
};

/** One queue for one scenario. */
export interface QueueDatabase {
  readonly kind: 'sqlite' | 'postgres' | 'mysql' | 'snowflake';
  /** The pods' working directory; holds the execution log (and the SQLite file). */
  readonly dir: string;
  /** Where the `record`/`spin` handlers log what they ran (see fixtures/steps.mjs). */
  readonly executionLog: string;
  /** `FLEET_Q_*` variables selecting this queue. */
  readonly env: Readonly<Record<string, string>>;
  /** A new read-only view (closed by `dispose`). Open it once a pod has migrated the schema. */
  openReader(): Promise<QueueReader>;
  /** Closes the readers and removes the queue (the pods must be gone). */
  dispose(): Promise<void>;
}

/** Liveness as the pods judge it, so `podList().live` and `leaderGet()` agree with theirs. */
const READER_POLICY: StorePolicy = {
  baseDelayMs: TIMING.baseDelayMs,
  maxDelayMs: TIMING.maxDelayMs,
  deadPodThresholdMs: TIMING.deadPodThresholdMs,
  maxReleases: 3,
};

/** Readers opened through `open`, closed together by the returned `closeAll`. */
function readerPool(open: () => Promise<Store>): { openReader(): Promise<QueueReader>; closeAll(): Promise<void> } {
  const opened: Store[] = [];
  return {
    openReader: async () => {
      const store = await open();
      opened.push(store);
      return readOnly(store);
    },
    closeAll: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
    },
  };
}

function readOnly(store: Store): QueueReader {
  return {
    stepGet: (p) => store.stepGet(p),
    stepList: (p) => store.stepList(p),
    eventList: (p) => store.eventList(p),
    podList: (p) => store.podList(p),
    leaderGet: (p) => store.leaderGet(p),
    queueStats: (p) => store.queueStats(p),
    dlqList: (p) => store.dlqList(p),
    close: () => store.close(),
  };
}

/** A SQLite file in a new temp dir. */
export async function sqliteQueue(): Promise<QueueDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-q-e2e-'));
  const path = join(dir, 'queue.db');
  const readers = readerPool(() => openSqliteStore({ path, policy: READER_POLICY }));
  return {
    kind: 'sqlite',
    dir,
    executionLog: join(dir, 'executions.jsonl'),
    env: { FLEET_Q_STORAGE_MODE: 'sqlite', FLEET_Q_SQLITE_DB_PATH: path },
    openReader: readers.openReader,
    dispose: async () => {
      await readers.closeAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema (random name) on the PostgreSQL at `url`, dropped by `dispose`. */
export async function postgresQueue(url: string): Promise<QueueDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-q-e2e-pg-'));
  const schema = await freshSchema(url);
  const readers = readerPool(() => openPostgresStore({ url, schema: schema.schema, policy: READER_POLICY, poolSize: 2 }));
  return {
    kind: 'postgres',
    dir,
    executionLog: join(dir, 'executions.jsonl'),
    env: { FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: url, FLEET_Q_DB_SCHEMA: schema.schema },
    openReader: readers.openReader,
    dispose: async () => {
      await readers.closeAll();
      await schema.drop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database (random name) on the MySQL / MariaDB server at `url`, dropped by `dispose`. */
export async function mysqlQueue(url: string): Promise<QueueDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-q-e2e-my-'));
  const database = await freshDatabase(url);
  const readers = readerPool(() => openMysqlStore({ url: database.url, policy: READER_POLICY, poolSize: 2 }));
  return {
    kind: 'mysql',
    dir,
    executionLog: join(dir, 'executions.jsonl'),
    env: { FLEET_Q_STORAGE_MODE: 'mysql', FLEET_Q_DATABASE_URL: database.url },
    openReader: readers.openReader,
    dispose: async () => {
      await readers.closeAll();
      await database.drop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema on the Snowflake emulator at `url` (test/support/snowflake/), dropped by `dispose`. */
export async function snowflakeQueue(url: string): Promise<QueueDatabase> {
  const { openSnowflakeStore } = await import('../../src/store/snowflake/driver.js');
  const { dropSnowflakeSchema, emulatorLogin, freshSnowflakeSchema, EMULATOR_DATABASE } = await import('../support/snowflake.js');
  const dir = await mkdtemp(join(tmpdir(), 'fleet-q-e2e-sf-'));
  const schema = freshSnowflakeSchema();
  const login = emulatorLogin(url);
  // Liveness as the Snowflake scenario's pods judge it (dead after 10 s, scenarios/sigkill-snowflake.ts).
  const readers = readerPool(() => openSnowflakeStore({ login, schema, policy: { ...READER_POLICY, deadPodThresholdMs: 10_000 }, poolSize: 2 }));
  return {
    kind: 'snowflake',
    dir,
    executionLog: join(dir, 'executions.jsonl'),
    env: {
      FLEET_Q_STORAGE_MODE: 'snowflake',
      FLEET_Q_SNOWFLAKE_ACCOUNT: login.account,
      FLEET_Q_SNOWFLAKE_USER: login.username,
      FLEET_Q_SNOWFLAKE_PASSWORD: login.password!,
      FLEET_Q_SNOWFLAKE_DATABASE: EMULATOR_DATABASE,
      FLEET_Q_SNOWFLAKE_SCHEMA: schema,
      FLEET_Q_SNOWFLAKE_WAREHOUSE: 'FLEETQ_WH',
      FLEET_Q_SNOWFLAKE_ACCESS_URL: url,
      // Idle pods find the orphans the leader hands back within the scenarios' recovery bound.
      FLEET_Q_SNOWFLAKE_POLL_INTERVAL_SECONDS: '0.2',
      FLEET_Q_SNOWFLAKE_POLL_MAX_SECONDS: '0.5',
    },
    openReader: readers.openReader,
    dispose: async () => {
      await readers.closeAll();
      await dropSnowflakeSchema(url, schema).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
