/**
 * The Snowflake settings' rules between fields: which are required, exactly one way to sign in, a
 * key file that can be read (and decrypted with the passphrase given), an endpoint URL that parses.
 * Owns these checks only; messages never quote a secret (password, passphrase, key contents).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The fields these rules read, as parsed. */
export interface SnowflakeFields {
  readonly snowflakeAccount?: string | undefined;
  readonly snowflakeUser?: string | undefined;
  readonly snowflakePassword?: string | undefined;
  readonly snowflakePrivateKeyPath?: string | undefined;
  readonly snowflakePrivateKeyPassphrase?: string | undefined;
  readonly snowflakeDatabase?: string | undefined;
  readonly snowflakeWarehouse?: string | undefined;
  readonly snowflakeAccessUrl?: string | undefined;
}

type Key = keyof SnowflakeFields;

const REQUIRED: readonly Key[] = ['snowflakeAccount', 'snowflakeUser', 'snowflakeDatabase', 'snowflakeWarehouse'];

/**
 * Every problem of the Snowflake settings when the storage mode is `snowflake`; `ok(key)` says the
 * field parsed (a field that failed is reported once, by its own rule).
 */
export function snowflakeProblems(data: SnowflakeFields, ok: (key: Key) => boolean): { key: Key; message: string }[] {
  const problems: { key: Key; message: string }[] = [];
  for (const key of REQUIRED) if (ok(key) && data[key] === undefined) problems.push({ key, message: 'is required when FLEET_Q_STORAGE_MODE is snowflake' });
  const password = data.snowflakePassword !== undefined;
  const keyPath = data.snowflakePrivateKeyPath;
  if (ok('snowflakePassword') && ok('snowflakePrivateKeyPath')) {
    if (password && keyPath !== undefined) {
      problems.push({
        key: 'snowflakePassword',
        message: 'must not be set together with FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: choose key-pair or password authentication',
      });
    } else if (!password && keyPath === undefined) {
      problems.push({
        key: 'snowflakePrivateKeyPath',
        message: 'is required when FLEET_Q_STORAGE_MODE is snowflake (or FLEET_Q_SNOWFLAKE_PASSWORD; key-pair authentication is recommended)',
      });
    }
  }
  if (ok('snowflakePrivateKeyPath') && keyPath !== undefined) {
    const problem = keyProblem(keyPath, data.snowflakePrivateKeyPassphrase);
    if (problem !== null) problems.push({ key: 'snowflakePrivateKeyPath', message: problem });
  }
  if (ok('snowflakePrivateKeyPassphrase') && data.snowflakePrivateKeyPassphrase !== undefined && keyPath === undefined && ok('snowflakePrivateKeyPath')) {
    problems.push({ key: 'snowflakePrivateKeyPassphrase', message: 'is set but FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH is not' });
  }
  if (ok('snowflakeAccessUrl') && data.snowflakeAccessUrl !== undefined) {
    let protocol: string;
    try {
      protocol = new URL(data.snowflakeAccessUrl).protocol;
    } catch {
      protocol = '';
    }
    if (protocol !== 'https:' && protocol !== 'http:')
      problems.push({ key: 'snowflakeAccessUrl', message: 'must be a URL like https://<account>.privatelink.snowflakecomputing.com' });
  }
  return problems;
}

/** Why the key file cannot serve (unreadable, not a private key, wrong or missing passphrase), or null. */
function keyProblem(path: string, passphrase: string | undefined): string | null {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  try {
    createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
    return null;
  } catch {
    return passphrase === undefined
      ? `${path} is not a PEM private key, or it is encrypted and FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE is not set`
      : `${path} is not a PEM private key that FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE decrypts`;
  }
}
