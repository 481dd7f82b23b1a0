/**
 * Snowflake for tests: the emulator the global setup started (or FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL),
 * the login the Snowflake store uses on it, and a fresh schema per test. Owns test connections only:
 * no assertions. The emulator accepts any account, user and password.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { SnowflakeLogin } from '../../src/store/snowflake/connection.js';

/** What the global setup hands to every test worker. */
export interface ProvidedSnowflake {
  readonly url: string | null;
  readonly reason: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fleetQSnowflake: ProvidedSnowflake;
  }
}

/** The database every emulated test schema lives in. */
export const EMULATOR_DATABASE = 'FLEETQ_TEST';

function provided(): ProvidedSnowflake {
  const fromEnv = process.env['FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL'];
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, reason: null };
  try {
    return inject('fleetQSnowflake') ?? { url: null, reason: 'the Snowflake global setup did not run' };
  } catch (err) {
    return { url: null, reason: `no vitest context to inject from: ${(err as Error).message}` };
  }
}

/** The emulator's URL, or undefined. */
export function emulatorUrl(): string | undefined {
  return provided().url ?? undefined;
}

/** Why there is no emulator. */
export function emulatorUnavailableReason(): string {
  return provided().reason ?? 'no Snowflake emulator';
}

/**
 * Whether a file's Snowflake tests run: when the emulator is there, or when FLEET_Q_REQUIRE_STORES
 * names snowflake (then they run and fail with the reason). Otherwise says why they did not run.
 */
export function snowflakeTestsRun(file: string): boolean {
  if (emulatorUrl() !== undefined) return true;
  const required = (process.env['FLEET_Q_REQUIRE_STORES'] ?? '').split(',').map((s) => s.trim());
  if (required.includes('snowflake')) return true;
  console.warn(`${file}: the Snowflake tests did not run: ${emulatorUnavailableReason()}`);
  return false;
}

/** The login of a store on the emulator at `url`. */
export function emulatorLogin(url: string): SnowflakeLogin {
  return { account: 'fakesnow', username: 'fleetq', password: 'emulator', database: EMULATOR_DATABASE, accessUrl: url };
}

/** A new schema name; the store's `migrate()` creates it. */
export function freshSnowflakeSchema(): string {
  return `FQ_TEST_${randomBytes(6).toString('hex').toUpperCase()}`;
}

/** Drops a test schema and everything in it. */
export async function dropSnowflakeSchema(url: string, schema: string): Promise<void> {
  const { SessionPool } = await import('../../src/store/snowflake/connection.js');
  const pool = new SessionPool(emulatorLogin(url), { lockTimeoutSeconds: 10, statementTimeoutSeconds: 60 }, 1);
  try {
    await pool.run({ sqlText: `DROP SCHEMA IF EXISTS ${schema} CASCADE`, binds: [] });
  } finally {
    await pool.close();
  }
}

/**
 * A real Snowflake account for the opt-in live suite: FLEET_Q_TEST_SNOWFLAKE_ACCOUNT, _USER,
 * _DATABASE, _WAREHOUSE, optional _ROLE, and _PRIVATE_KEY_PATH (+ _PRIVATE_KEY_PASSPHRASE) or
 * _PASSWORD. Undefined unless account, user, database and a credential are set.
 */
export function liveAccountLogin(env: NodeJS.ProcessEnv = process.env): SnowflakeLogin | undefined {
  const get = (name: string) => {
    const value = env[`FLEET_Q_TEST_SNOWFLAKE_${name}`];
    return value === undefined || value === '' ? undefined : value;
  };
  const account = get('ACCOUNT');
  const username = get('USER');
  const database = get('DATABASE');
  const privateKeyPath = get('PRIVATE_KEY_PATH');
  const password = get('PASSWORD');
  if (account === undefined || username === undefined || database === undefined || (privateKeyPath === undefined && password === undefined)) return undefined;
  const optional = (key: keyof SnowflakeLogin, value: string | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    account,
    username,
    database,
    ...optional('warehouse', get('WAREHOUSE')),
    ...optional('role', get('ROLE')),
    ...(privateKeyPath === undefined ? { password } : { privateKeyPath, ...optional('privateKeyPassphrase', get('PRIVATE_KEY_PASSPHRASE')) }),
    ...optional('accessUrl', get('ACCESS_URL')),
  } as SnowflakeLogin;
}
