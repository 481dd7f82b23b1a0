/**
 * What the property tests of this folder share: the seed (`FLEET_Q_TEST_SEED`, fixed default), the
 * small policy that makes deaths and backoffs happen within a few commands, fresh SQLite files in
 * temp dirs, and the failure report that says how to replay. Owns no assertion of its own.
 *
 * A seed fixes the generated commands, not everything the store does: backoff jitter (SQLite's
 * random()) and step ids are random, so a rerun with the same seed can take a slightly different
 * path. The printed path with the commands' replay hint replays the shrunk case itself, which is
 * small enough that it rarely depends on either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openSqliteStore } from '../../src/store/sqlite/driver.js';
import type { Store, StorePolicy } from '../../src/store/store.js';

/**
 * Dead after 3 s without a heartbeat, backoff 100 ms doubling to 1 s, one free release. With two free
 * releases, a release past the cap needed three release commands on one step and happened in too few
 * of 80 sequences for a broken cap (`>` for `>=`) to be caught; with one it is caught.
 */
export const PROPERTY_POLICY: StorePolicy = { deadPodThresholdMs: 3000, baseDelayMs: 100, maxDelayMs: 1000, maxReleases: 1 };

/** Where every model clock starts (2023-11-14T22:13:20Z): far from 0 so wrong units show. */
export const START_TS = 1_700_000_000_000;

const DEFAULT_SEED = 20_261_129;

/** `FLEET_Q_TEST_SEED` when it is an integer, else the fixed default. */
export function testSeed(): number {
  const raw = process.env.FLEET_Q_TEST_SEED;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FLEET_Q_TEST_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed;
}

/** `FLEET_Q_TEST_PATH`: a counterexample path printed by a failure, to replay only that case. */
export function testPath(): string | undefined {
  return envText('FLEET_Q_TEST_PATH');
}

/** `FLEET_Q_TEST_REPLAY_PATH`: the `fc.commands` replay hint printed with that path (command properties only). */
export function testReplayPath(): string | undefined {
  return envText('FLEET_Q_TEST_REPLAY_PATH');
}

function envText(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/** A migrated store on a new file in a new temp dir; `dispose` closes it and removes the dir. */
export interface TempStore {
  readonly path: string;
  readonly store: Store;
  /** Opens another store (another connection) on the same file. */
  openAnother(): Promise<Store>;
  dispose(): Promise<void>;
}

export async function openTempStore(policy: StorePolicy = PROPERTY_POLICY): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-q-prop-'));
  const path = join(dir, 'queue.db');
  const opened: Store[] = [];
  const open = async () => {
    const store = await openSqliteStore({ path, policy });
    opened.push(store);
    return store;
  };
  const store = await open();
  await store.migrate();
  return {
    path,
    store,
    openAnother: open,
    async dispose() {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The stores a property file runs on: SQLite always; MySQL and Snowflake when they answer (or are required). */
export interface PropertyStore {
  readonly name: 'sqlite' | 'mysql' | 'snowflake';
  readonly open: (policy?: StorePolicy) => Promise<TempStore>;
  /**
   * Runs of the property on this store: a fresh MySQL database per run costs ~0.2 s more than a
   * file; every statement on the Snowflake emulator takes 20–50 ms.
   */
  readonly numRuns: (sqliteRuns: number) => number;
}

/**
 * A migrated Snowflake store on a new schema of the run's emulator; `dispose` drops it. Its audit
 * events are owed per row and copied by its next copy; `eventList` on this same store copies what
 * it owes first, so the property reads a complete trail through the store itself.
 */
export async function openTempSnowflakeStore(policy: StorePolicy = PROPERTY_POLICY): Promise<TempStore> {
  const [{ openSnowflakeStore }, support] = await Promise.all([import('../../src/store/snowflake/driver.js'), import('../support/snowflake.js')]);
  const url = support.emulatorUrl();
  if (url === undefined) throw new Error(`no Snowflake emulator: ${support.emulatorUnavailableReason()}`);
  const schema = support.freshSnowflakeSchema();
  const opened: Store[] = [];
  const open = async () => {
    const store = await openSnowflakeStore({ login: support.emulatorLogin(url), schema, policy, poolSize: 2 });
    opened.push(store);
    return store;
  };
  const store = await open();
  await store.migrate();
  return {
    path: schema,
    store,
    openAnother: open,
    async dispose() {
      for (const s of opened) await s.close();
      await support.dropSnowflakeSchema(url, schema);
    },
  };
}

/** A migrated MySQL store on a new database (random name) of FLEET_Q_TEST_MYSQL_URL; `dispose` drops it. */
export async function openTempMysqlStore(policy: StorePolicy = PROPERTY_POLICY): Promise<TempStore> {
  const [{ openMysqlStore }, support] = await Promise.all([import('../../src/store/mysql/driver.js'), import('../support/mysql.js')]);
  const database = await support.freshDatabase(support.requireTestMysqlUrl());
  const opened: Store[] = [];
  const open = async () => {
    const store = await openMysqlStore({ url: database.url, policy, poolSize: 3 });
    opened.push(store);
    return store;
  };
  const store = await open();
  await store.migrate();
  return {
    path: database.database,
    store,
    openAnother: open,
    async dispose() {
      for (const s of opened) await s.close();
      await database.drop();
    },
  };
}

/** SQLite, and MySQL and Snowflake unless missing and not required (then the file says they did not run). */
export async function propertyStores(file: string): Promise<PropertyStore[]> {
  const stores: PropertyStore[] = [{ name: 'sqlite', open: openTempStore, numRuns: (n) => n }];
  const { mysqlTestsRun } = await import('../support/mysql.js');
  if (await mysqlTestsRun(file)) stores.push({ name: 'mysql', open: openTempMysqlStore, numRuns: (n) => Math.max(10, Math.round(n / 3)) });
  const { snowflakeTestsRun } = await import('../support/snowflake.js');
  if (snowflakeTestsRun(file)) stores.push({ name: 'snowflake', open: openTempSnowflakeStore, numRuns: (n) => Math.max(3, Math.round(n / 10)) });
  return stores;
}

/** The assertion's values, when the error carries them (vitest's `expect` does), so the report shows the difference. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { actual, expected } = error as Error & { actual?: unknown; expected?: unknown };
  if (actual === undefined && expected === undefined) return error.message;
  const show = (value: unknown) => JSON.stringify(value)?.slice(0, 2000) ?? String(value);
  return `${error.message}\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`;
}

/** The message of a failed `fc.check`: seed, path, shrunk case, error and the commands that replay it. */
export function failureReport(name: string, file: string, out: fc.RunDetails<unknown>): string {
  const counterexample = fc.stringify(out.counterexample);
  const replayPath = /replayPath="([^"]*)"/.exec(counterexample)?.[1];
  const only = [
    `FLEET_Q_TEST_SEED=${out.seed}`,
    `FLEET_Q_TEST_PATH='${out.counterexamplePath ?? ''}'`,
    ...(replayPath === undefined ? [] : [`FLEET_Q_TEST_REPLAY_PATH='${replayPath}'`]),
  ].join(' ');
  return [
    `${name} failed after ${out.numRuns} run(s) and ${out.numShrinks} shrink(s)`,
    `seed: ${out.seed}`,
    `path: ${out.counterexamplePath ?? '(none)'}`,
    `counterexample: ${counterexample}`,
    `error: ${describeError(out.errorInstance)}`,
    `replay: FLEET_Q_TEST_SEED=${out.seed} npx vitest run test/property`,
    `replay only this case: ${only} npx vitest run ${file}`,
  ].join('\n');
}

/**
 * `fc.check` with the seed (and, to replay one case, its path and the commands' replay hint);
 * throws the failure report. `property` receives the replay hint for `fc.commands`; `examples` run
 * first, before the random cases.
 */
export async function checkProperty<Ts>(
  name: string,
  file: string,
  property: (replayPath: string | undefined) => fc.IAsyncProperty<Ts>,
  numRuns: number,
  examples: Ts[] = [],
): Promise<fc.RunDetails<Ts>> {
  const path = testPath();
  const out = await fc.check(property(testReplayPath()), {
    seed: testSeed(),
    numRuns,
    // Examples come first in the path's numbering, so a replayed path needs them too.
    examples,
    ...(path === undefined ? {} : { path, endOnFailure: true }),
    // Shrinking re-runs whole sequences against real files; past this, the smallest case so far is
    // reported (and a passing run on a very slow machine ends early, with fewer runs).
    interruptAfterTimeLimit: 120_000,
  });
  if (out.failed) throw new Error(failureReport(name, file, out as fc.RunDetails<unknown>));
  return out;
}
