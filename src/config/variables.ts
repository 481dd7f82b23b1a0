/**
 * The catalogue of `FLEET_Q_*` variables: name, config key, documented default and meaning. It is the
 * one source of the README configuration table and of which values `redactConfig` hides.
 * Owns documentation only: parsing and validation live in schema.ts, which must agree with
 * this list key for key (test/unit/config-table.test.ts checks both directions).
 */
import type { FleetConfig } from './config.js';

/** How a secret is hidden in logs: the whole value, or only the password inside a URL. */
export type SecretKind = 'value' | 'url-password';

/** One `FLEET_Q_*` variable as documented to operators. */
export interface ConfigVariable {
  /** The environment variable, e.g. `FLEET_Q_MAX_PARALLELISM`. */
  readonly variable: string;
  /** The `FleetConfig` key: the variable without `FLEET_Q_`, camel-cased. */
  readonly key: keyof FleetConfig;
  /** The default as shown in the docs; empty when the variable has none. */
  readonly default: string;
  readonly description: string;
  /** Set on secrets; `redactConfig` hides them. */
  readonly secret?: SecretKind;
}

/** Every variable, in the order the README lists them. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  {
    variable: 'FLEET_Q_STORAGE_MODE',
    key: 'storageMode',
    default: 'sqlite',
    description: 'Where the queue lives: `sqlite`, `postgres` or `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SQLITE_DB_PATH',
    key: 'sqliteDbPath',
    default: './fleet-q.db',
    description: 'SQLite database file. Every pod of a SQLite queue runs on the same host and opens the same file.',
  },
  {
    variable: 'FLEET_Q_DATABASE_URL',
    key: 'databaseUrl',
    default: '',
    description: 'PostgreSQL connection URL (`postgres://` or `postgresql://`, `sslmode` allowed); required for `postgres`. Its password is never logged.',
    secret: 'url-password',
  },
  {
    variable: 'FLEET_Q_DATABASE_SSL_REJECT_UNAUTHORIZED',
    key: 'databaseSslRejectUnauthorized',
    default: 'true',
    description: 'PostgreSQL TLS: `false` accepts a server certificate that does not verify (self-signed, no CA given).',
  },
  {
    variable: 'FLEET_Q_DATABASE_SSL_CA',
    key: 'databaseSslCa',
    default: '',
    description: 'PostgreSQL TLS: path of a PEM file with the CA that signed the server certificate.',
  },
  {
    variable: 'FLEET_Q_DB_SCHEMA',
    key: 'dbSchema',
    default: 'public',
    description: 'PostgreSQL schema holding the tables; must match `^[A-Za-z_][A-Za-z0-9_]*$`.',
  },
  {
    variable: 'FLEET_Q_TABLE_PREFIX',
    key: 'tablePrefix',
    default: '',
    description: 'Prefix of the table names (none by default), so several queues can share one database; must match `^[A-Za-z_][A-Za-z0-9_]*$`, prefix + table name at most 63 characters.',
  },
  {
    variable: 'FLEET_Q_POD_ID',
    key: 'podId',
    default: 'the host name',
    description: 'Pod name (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`); each process start registers as `<name>-<8 hex>`.',
  },
  {
    variable: 'FLEET_Q_MAX_PARALLELISM',
    key: 'maxParallelism',
    default: '10',
    description: 'Upper bound of concurrent steps on a pod (integer, 1–1000).',
  },
  {
    variable: 'FLEET_Q_CAPACITY_THRESHOLD',
    key: 'capacityThreshold',
    default: '0.8',
    description: 'Share of the parallelism a pod actually uses, in (0, 1]: capacity = max(1, floor(parallelism × threshold)).',
  },
  {
    variable: 'FLEET_Q_HEARTBEAT_INTERVAL_SECONDS',
    key: 'heartbeatIntervalSeconds',
    default: '30',
    description: 'Seconds between heartbeats; fractions allowed.',
  },
  {
    variable: 'FLEET_Q_CLAIM_INTERVAL_SECONDS',
    key: 'claimIntervalSeconds',
    default: '5',
    description: 'Seconds between claim polls of an idle pod when no change notice arrives; fractions allowed.',
  },
  {
    variable: 'FLEET_Q_RECOVERY_INTERVAL_SECONDS',
    key: 'recoveryIntervalSeconds',
    default: '300',
    description: 'Seconds between the leader’s recovery sweeps; fractions allowed.',
  },
  {
    variable: 'FLEET_Q_DEAD_POD_THRESHOLD_SECONDS',
    key: 'deadPodThresholdSeconds',
    default: '180',
    description: 'A pod without a heartbeat for this long is dead and its claims are recovered; at least 3 × the heartbeat interval.',
  },
  {
    variable: 'FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS',
    key: 'leaderCheckIntervalSeconds',
    default: '60',
    description: 'Seconds between checks of which pod leads; fractions allowed.',
  },
  {
    variable: 'FLEET_Q_API_HOST',
    key: 'apiHost',
    default: '127.0.0.1',
    description: 'Address the HTTP API listens on; `0.0.0.0` for every interface.',
  },
  {
    variable: 'FLEET_Q_API_PORT',
    key: 'apiPort',
    default: '8000',
    description: 'Port of the HTTP API (0–65535; 0 picks a free port).',
  },
  {
    variable: 'FLEET_Q_LOG_LEVEL',
    key: 'logLevel',
    default: 'info',
    description: '`trace`, `debug`, `info`, `warn` (or `warning`), `error`, `fatal` (or `critical`) or `silent`; any case.',
  },
  {
    variable: 'FLEET_Q_LOG_FORMAT',
    key: 'logFormat',
    default: 'json',
    description: '`json` (one object per line) or `console` (or `text`: one readable line per record); always on stderr.',
  },
  {
    variable: 'FLEET_Q_DEFAULT_MAX_RETRIES',
    key: 'defaultMaxRetries',
    default: '3',
    description: 'Retries of a step whose submit and step type set none (integer, 0–25).',
  },
  {
    variable: 'FLEET_Q_BASE_DELAY_MS',
    key: 'baseDelayMs',
    default: '1000',
    description: 'Backoff of the first retry in ms; the n-th waits min(base × 2^(n−1), max) × a random factor in [0.5, 1]. At most the max delay.',
  },
  {
    variable: 'FLEET_Q_MAX_DELAY_MS',
    key: 'maxDelayMs',
    default: '300000',
    description: 'Longest backoff between retries in ms.',
  },
  {
    variable: 'FLEET_Q_DEFAULT_STEP_TIMEOUT_MS',
    key: 'defaultStepTimeoutMs',
    default: '900000',
    description: 'Time a handler gets per attempt when neither submit nor its step type sets one, in ms.',
  },
  {
    variable: 'FLEET_Q_RETENTION_DAYS',
    key: 'retentionDays',
    default: '30',
    description: 'Days completed and dead-lettered steps, their events and down pods are kept; fractions allowed; 0 keeps everything.',
  },
  {
    variable: 'FLEET_Q_SHUTDOWN_GRACE_SECONDS',
    key: 'shutdownGraceSeconds',
    default: '25',
    description: 'On SIGTERM/SIGINT, seconds running handlers get to finish before their steps are released; fractions allowed.',
  },
  {
    variable: 'FLEET_Q_MAX_RELEASES',
    key: 'maxReleases',
    default: '3',
    description: 'Releases by draining pods a step takes before a further release counts as a retry (integer ≥ 0).',
  },
  {
    variable: 'FLEET_Q_HANDLERS',
    key: 'handlers',
    default: '',
    description: 'Path of a JS module whose named export `steps` lists the step types (`defineStep`) this pod runs, besides `echo`, `sleep`, `fail`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_ACCOUNT',
    key: 'snowflakeAccount',
    default: '',
    description: 'Snowflake account identifier; required for `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_USER',
    key: 'snowflakeUser',
    default: '',
    description: 'Snowflake user; required for `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_PASSWORD',
    key: 'snowflakePassword',
    default: '',
    description: 'Snowflake password (single-factor passwords are being phased out for service users: prefer the key pair). Never logged.',
    secret: 'value',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_DATABASE',
    key: 'snowflakeDatabase',
    default: '',
    description: 'Snowflake database; required for `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_SCHEMA',
    key: 'snowflakeSchema',
    default: 'PUBLIC',
    description: 'Snowflake schema holding the tables; must match `^[A-Za-z_][A-Za-z0-9_]*$`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_WAREHOUSE',
    key: 'snowflakeWarehouse',
    default: '',
    description: 'Snowflake warehouse that runs the queue’s statements; required for `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_ROLE',
    key: 'snowflakeRole',
    default: '',
    description: 'Snowflake role; the user’s default role when unset.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH',
    key: 'snowflakePrivateKeyPath',
    default: '',
    description: 'Key-pair (JWT) authentication, the recommended way for service users: path of the PKCS#8 PEM private key. Exactly one of this and `FLEET_Q_SNOWFLAKE_PASSWORD` is required for `snowflake`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE',
    key: 'snowflakePrivateKeyPassphrase',
    default: '',
    description: 'Passphrase of an encrypted private key. Never logged.',
    secret: 'value',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_ACCESS_URL',
    key: 'snowflakeAccessUrl',
    default: '',
    description: 'A non-default Snowflake endpoint (private link, proxy), e.g. `https://acme.privatelink.snowflakecomputing.com`.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_POLL_INTERVAL_SECONDS',
    key: 'snowflakePollIntervalSeconds',
    default: '1',
    description: 'Snowflake: how soon an idle pod looks for new work after the queue last changed; doubles while nothing changes.',
  },
  {
    variable: 'FLEET_Q_SNOWFLAKE_POLL_MAX_SECONDS',
    key: 'snowflakePollMaxSeconds',
    default: '30',
    description: 'Snowflake: the cap of that idle back-off (each poll is one metadata-only statement).',
  },
];

/** `FLEET_Q_MAX_PARALLELISM` for `maxParallelism`; the one place keys map to variable names. */
export function variableOf(key: string): string {
  return CONFIG_VARIABLES.find((v) => v.key === key)?.variable ?? key;
}
