/**
 * Snowflake settings (src/config/snowflake.ts): required fields, exactly one way to sign in, a key
 * file that reads and decrypts, every problem at once, and no secret in any message or redacted view.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../src/config/config.js';
import { ConfigError, type FleetErrorItem } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'fleet-q-sf-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'pw-Secret-4711';
const PASSPHRASE = 'pass-Phrase-0815';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const plainKey = join(dir, 'plain.p8');
const encryptedKey = join(dir, 'encrypted.p8');
writeFileSync(plainKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(encryptedKey, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }));

const BASE = {
  FLEET_Q_STORAGE_MODE: 'snowflake',
  FLEET_Q_SNOWFLAKE_ACCOUNT: 'acme-x1',
  FLEET_Q_SNOWFLAKE_USER: 'FLEETQ_SVC',
  FLEET_Q_SNOWFLAKE_DATABASE: 'QUEUE',
  FLEET_Q_SNOWFLAKE_WAREHOUSE: 'FLEETQ_WH',
};

function problemsOf(env: NodeJS.ProcessEnv): FleetErrorItem[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...((err as ConfigError).errors ?? [])];
  }
  return [];
}

describe('Snowflake configuration', () => {
  it('accepts a plain key, and an encrypted key with its passphrase', () => {
    expect(loadConfig({ ...BASE, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: plainKey }).snowflakePrivateKeyPath).toBe(plainKey);
    const config = loadConfig({ ...BASE, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: encryptedKey, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASSPHRASE });
    expect(config.snowflakePrivateKeyPassphrase).toBe(PASSPHRASE);
    expect(JSON.stringify(redactConfig(config))).not.toContain(PASSPHRASE);
  });

  it('accepts a password alone, and never shows it', () => {
    const config = loadConfig({ ...BASE, FLEET_Q_SNOWFLAKE_PASSWORD: PASSWORD });
    expect(config.snowflakePassword).toBe(PASSWORD);
    expect(JSON.stringify(redactConfig(config))).not.toContain(PASSWORD);
  });

  it('lists every problem at once: missing account, password and key both set, no secret in any message', () => {
    const env = { ...BASE, FLEET_Q_SNOWFLAKE_ACCOUNT: undefined, FLEET_Q_SNOWFLAKE_PASSWORD: PASSWORD, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: plainKey };
    const problems = problemsOf(env);
    expect(problems.map((p) => p.loc)).toEqual(['FLEET_Q_SNOWFLAKE_ACCOUNT', 'FLEET_Q_SNOWFLAKE_PASSWORD']);
    expect(JSON.stringify(problems)).not.toContain(PASSWORD);
  });

  it('refuses an unreadable key file, naming the path', () => {
    const missing = join(dir, 'missing.p8');
    expect(problemsOf({ ...BASE, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: missing })).toEqual([
      { loc: 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH', msg: `cannot read ${missing} (ENOENT)` },
    ]);
  });

  it('refuses an encrypted key without its passphrase, or with a wrong one, without echoing the passphrase', () => {
    expect(problemsOf({ ...BASE, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: encryptedKey }).map((p) => p.loc)).toEqual(['FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH']);
    const wrong = problemsOf({ ...BASE, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: encryptedKey, FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'not-it-9' });
    expect(wrong.map((p) => p.loc)).toEqual(['FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH']);
    expect(JSON.stringify(wrong)).not.toContain('not-it-9');
  });

  it('refuses neither password nor key, a passphrase without a key, a bad endpoint and an inverted poll back-off', () => {
    expect(
      problemsOf({
        ...BASE,
        FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
        FLEET_Q_SNOWFLAKE_ACCESS_URL: 'not a url',
        FLEET_Q_SNOWFLAKE_POLL_INTERVAL_SECONDS: '10',
        FLEET_Q_SNOWFLAKE_POLL_MAX_SECONDS: '5',
      })
        .map((p) => p.loc)
        .sort(),
    ).toEqual([
      'FLEET_Q_SNOWFLAKE_ACCESS_URL',
      'FLEET_Q_SNOWFLAKE_POLL_MAX_SECONDS',
      'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE',
      'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH',
    ]);
  });

  it('does not look at Snowflake settings for another storage mode', () => {
    expect(loadConfig({ FLEET_Q_STORAGE_MODE: 'sqlite', FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: join(dir, 'missing.p8') }).storageMode).toBe('sqlite');
  });
});
