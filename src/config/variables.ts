/**
 * THE table of `FLEET_Q_*` variables, the one source of configuration: each row gives the variable,
 * its `FleetConfig` key (the row's key), its zod field (parsing, range and default), how the README
 * shows its default, its meaning, and whether it is secret. The schema (schema.ts), the `FleetConfig`
 * type, the README table (table.ts) and the key list (`CONFIG_VARIABLES`) all derive from it.
 * Must not hold rules between variables (schema.ts) or read the environment (config.ts).
 *
 * To add a variable, add one row, in the place the README should list it:
 *
 *   myKey: {
 *     variable: 'FLEET_Q_MY_KEY',                 // FLEET_Q_ + the key in upper snake case
 *     field: numberField({ integer: true, min: 1 }).default(5),   // or .optional() for "unset"
 *     description: 'What it does, for operators.',
 *   },
 *
 * then run `npx vitest run test/unit/config-table.test.ts` and paste the table it prints into README.md.
 */
import type { z } from 'zod';
import {
  API_AUTH_MODES,
  LOG_FORMATS,
  LOG_LEVELS,
  MAX_TIMER_MS,
  POD_NAME_PATTERN,
  STORAGE_MODES,
  booleanField,
  choiceField,
  defaultPodName,
  identifierField,
  nonEmptyText,
  numberField,
  postgresUrlField,
  seconds,
  text,
  tokenListField,
} from './fields.js';

/** How a secret is hidden in logs: the whole value, or only the password inside a URL. */
export type SecretKind = 'value' | 'url-password';

/** One row of the table. */
export interface VariableRow {
  /** The environment variable, e.g. `FLEET_Q_MAX_PARALLELISM`. */
  readonly variable: string;
  /** Parses the value (an environment string or a typed override); its `.default()` is the default. */
  readonly field: z.ZodType;
  /** The default as the README shows it, when not the field's default value (e.g. "the host name"). */
  readonly shownDefault?: string;
  readonly description: string;
  /** Set on secrets; `redactConfig` hides them. */
  readonly secret?: SecretKind;
}

/** Every variable, keyed by its `FleetConfig` key, in the order the README lists them. */
export const VARIABLES = {
  storageMode: {
    variable: 'FLEET_Q_STORAGE_MODE',
    field: choiceField(STORAGE_MODES, { postgresql: 'postgres', mariadb: 'mysql' }).default('sqlite'),
    description: 'Where the queue lives: `sqlite`, `postgres`, `snowflake` or `mysql` (MySQL 8.0+ or MariaDB 10.6+).',
  },
  sqliteDbPath: {
    variable: 'FLEET_Q_SQLITE_DB_PATH',
    field: nonEmptyText().default('./fleet-q.db'),
    description: 'SQLite database file. Every pod of a SQLite queue runs on the same host and opens the same file.',
  },
  databaseUrl: {
    variable: 'FLEET_Q_DATABASE_URL',
    field: postgresUrlField().optional(),
    description:
      'PostgreSQL connection URL (`postgres://` or `postgresql://`, `sslmode` allowed); required for `postgres`. For `mysql` (required there too): `mysql://user:password@host:3306/database`. Its password is never logged.',
    secret: 'url-password',
  },
  databaseSslRejectUnauthorized: {
    variable: 'FLEET_Q_DATABASE_SSL_REJECT_UNAUTHORIZED',
    field: booleanField().default(true),
    description: 'PostgreSQL and MySQL TLS: `false` accepts a server certificate that does not verify (self-signed, no CA given).',
  },
  databaseSslCa: {
    variable: 'FLEET_Q_DATABASE_SSL_CA',
    field: nonEmptyText().optional(),
    description: 'PostgreSQL and MySQL TLS: path of a PEM file with the CA that signed the server certificate.',
  },
  dbSchema: {
    variable: 'FLEET_Q_DB_SCHEMA',
    field: identifierField(false).default('public'),
    description: 'PostgreSQL schema holding the tables; must match `^[A-Za-z_][A-Za-z0-9_]*$`.',
  },
  tablePrefix: {
    variable: 'FLEET_Q_TABLE_PREFIX',
    field: identifierField(true).default(''),
    description:
      'Prefix of the table names (none by default), so several queues can share one database; must match `^[A-Za-z_][A-Za-z0-9_]*$`, prefix + table name at most 63 characters.',
  },
  podId: {
    variable: 'FLEET_Q_POD_ID',
    field: text()
      .regex(POD_NAME_PATTERN, { error: `must match ${POD_NAME_PATTERN.source}` })
      .default(defaultPodName),
    shownDefault: 'the host name',
    description: 'Pod name (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`); each process start registers as `<name>-<8 hex>`.',
  },
  maxParallelism: {
    variable: 'FLEET_Q_MAX_PARALLELISM',
    field: numberField({ integer: true, min: 1, max: 1000 }).default(10),
    description: 'Upper bound of concurrent steps on a pod (integer, 1–1000).',
  },
  capacityThreshold: {
    variable: 'FLEET_Q_CAPACITY_THRESHOLD',
    field: numberField({ min: 0, minExclusive: true, max: 1 }).default(0.8),
    description: 'Share of the parallelism a pod actually uses, in (0, 1]: capacity = max(1, floor(parallelism × threshold)).',
  },
  heartbeatIntervalSeconds: {
    variable: 'FLEET_Q_HEARTBEAT_INTERVAL_SECONDS',
    field: seconds(0, true).default(30),
    description: 'Seconds between heartbeats; fractions allowed.',
  },
  claimIntervalSeconds: {
    variable: 'FLEET_Q_CLAIM_INTERVAL_SECONDS',
    field: seconds(0, true).default(5),
    description: 'Seconds between claim polls of an idle pod when no change notice arrives; fractions allowed.',
  },
  recoveryIntervalSeconds: {
    variable: 'FLEET_Q_RECOVERY_INTERVAL_SECONDS',
    field: seconds(0, true).default(300),
    description: 'Seconds between the leader’s recovery sweeps; fractions allowed.',
  },
  deadPodThresholdSeconds: {
    variable: 'FLEET_Q_DEAD_POD_THRESHOLD_SECONDS',
    field: seconds(0, true).default(180),
    description:
      'A pod without a heartbeat for this long is dead and its claims are recovered; at least the heartbeat interval + 2 × the heartbeat latency budget (see Liveness).',
  },
  heartbeatLatencyBudgetSeconds: {
    variable: 'FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS',
    // Unset: the store's own default (store/latency-budget.ts), filled in by the schema.
    field: seconds(0, true).optional(),
    shownDefault: '1 (Snowflake: 5)',
    description:
      'Longest time a heartbeat may take, from falling due to its confirmation (statement, queueing, event-loop delays); fractions allowed. Bounds the accepted dead-pod threshold (see Liveness); it does not change the timers.',
  },
  leaderCheckIntervalSeconds: {
    variable: 'FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS',
    field: seconds(0, true).default(60),
    description: 'Seconds between checks of which pod leads; fractions allowed.',
  },
  apiHost: {
    variable: 'FLEET_Q_API_HOST',
    field: nonEmptyText().default('127.0.0.1'),
    description: 'Address the HTTP API listens on; `0.0.0.0` for every interface.',
  },
  apiPort: {
    variable: 'FLEET_Q_API_PORT',
    field: numberField({ integer: true, min: 0, max: 65535 }).default(8000),
    description: 'Port of the HTTP API (0–65535; 0 picks a free port).',
  },
  apiTokensRead: {
    variable: 'FLEET_Q_API_TOKENS_READ',
    field: tokenListField().optional(),
    description:
      'Bearer tokens (comma-separated, each at least 16 characters, no spaces) that may read: `GET /status`, `/idempotency`, `/admin/leader`, `/admin/queue`, `/admin/schedules`, `/admin/dlq`, `/metrics`, the dashboard’s data. Never logged.',
    secret: 'value',
  },
  apiTokensSubmit: {
    variable: 'FLEET_Q_API_TOKENS_SUBMIT',
    field: tokenListField().optional(),
    description: 'Bearer tokens that may submit (`POST /submit`, `/submit/batch`) and read. Never logged.',
    secret: 'value',
  },
  apiTokensAdmin: {
    variable: 'FLEET_Q_API_TOKENS_ADMIN',
    field: tokenListField().optional(),
    description: 'Bearer tokens that may do everything: recovery runs and DLQ replays besides submit and read. Never logged.',
    secret: 'value',
  },
  apiAuth: {
    variable: 'FLEET_Q_API_AUTH',
    field: choiceField(API_AUTH_MODES).default('tokens'),
    description:
      '`tokens`: the API checks bearer tokens whenever any are set, and a pod on a non-loopback FLEET_Q_API_HOST without tokens refuses to start; `none`: no authentication anywhere (only behind a gateway that authenticates).',
  },
  metricsPublic: {
    variable: 'FLEET_Q_METRICS_PUBLIC',
    field: booleanField().default(false),
    description: '`true` serves `GET /metrics` without a token (for a scraper inside a trusted network); otherwise it needs a read token when tokens are set.',
  },
  logLevel: {
    variable: 'FLEET_Q_LOG_LEVEL',
    // Python's level and format names, which operators of the original FLEET-Q use.
    field: choiceField(LOG_LEVELS, { warning: 'warn', critical: 'fatal' }).default('info'),
    description: '`trace`, `debug`, `info`, `warn` (or `warning`), `error`, `fatal` (or `critical`) or `silent`; any case.',
  },
  logFormat: {
    variable: 'FLEET_Q_LOG_FORMAT',
    field: choiceField(LOG_FORMATS, { text: 'console' }).default('json'),
    description: '`json` (one object per line) or `console` (or `text`: one readable line per record); always on stderr.',
  },
  defaultMaxRetries: {
    variable: 'FLEET_Q_DEFAULT_MAX_RETRIES',
    field: numberField({ integer: true, min: 0, max: 25 }).default(3),
    description: 'Retries of a step whose submit and step type set none (integer, 0–25).',
  },
  baseDelayMs: {
    variable: 'FLEET_Q_BASE_DELAY_MS',
    field: numberField({ integer: true, min: 0 }).default(1000),
    description: 'Backoff of the first retry in ms; the n-th waits min(base × 2^(n−1), max) × a random factor in [0.5, 1]. At most the max delay.',
  },
  maxDelayMs: {
    variable: 'FLEET_Q_MAX_DELAY_MS',
    field: numberField({ integer: true, min: 0 }).default(300_000),
    description: 'Longest backoff between retries in ms.',
  },
  defaultStepTimeoutMs: {
    variable: 'FLEET_Q_DEFAULT_STEP_TIMEOUT_MS',
    field: numberField({ integer: true, min: 1, max: MAX_TIMER_MS }).default(900_000),
    description: 'Time a handler gets per attempt when neither submit nor its step type sets one, in ms.',
  },
  retentionDays: {
    variable: 'FLEET_Q_RETENTION_DAYS',
    field: numberField({ min: 0 }).default(30),
    description: 'Days completed and dead-lettered steps, their events and down pods are kept; fractions allowed; 0 keeps everything.',
  },
  shutdownGraceSeconds: {
    variable: 'FLEET_Q_SHUTDOWN_GRACE_SECONDS',
    field: seconds(0, false).default(25),
    description: 'On SIGTERM/SIGINT, seconds running handlers get to finish before their steps are released; fractions allowed.',
  },
  maxReleases: {
    variable: 'FLEET_Q_MAX_RELEASES',
    field: numberField({ integer: true, min: 0 }).default(3),
    description: 'Releases by draining pods a step takes before a further release counts as a retry (integer ≥ 0).',
  },
  handlers: {
    variable: 'FLEET_Q_HANDLERS',
    field: nonEmptyText().optional(),
    description: 'Path of a JS module whose named export `steps` lists the step types (`defineStep`) this pod runs, besides `echo`, `sleep`, `fail`.',
  },
  snowflakeAccount: {
    variable: 'FLEET_Q_SNOWFLAKE_ACCOUNT',
    field: nonEmptyText().optional(),
    description: 'Snowflake account identifier; required for `snowflake`.',
  },
  snowflakeUser: {
    variable: 'FLEET_Q_SNOWFLAKE_USER',
    field: nonEmptyText().optional(),
    description: 'Snowflake user; required for `snowflake`.',
  },
  snowflakePrivateKeyPath: {
    variable: 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH',
    field: nonEmptyText().optional(),
    description:
      'Key-pair (JWT) authentication, the recommended way for service users: path of the PKCS#8 PEM private key. Exactly one of this and `FLEET_Q_SNOWFLAKE_PASSWORD` is required for `snowflake`.',
  },
  snowflakePrivateKeyPassphrase: {
    variable: 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE',
    field: nonEmptyText().optional(),
    description: 'Passphrase of an encrypted private key. Never logged.',
    secret: 'value',
  },
  snowflakePassword: {
    variable: 'FLEET_Q_SNOWFLAKE_PASSWORD',
    field: nonEmptyText().optional(),
    description: 'Snowflake password (single-factor passwords are being phased out for service users: prefer the key pair). Never logged.',
    secret: 'value',
  },
  snowflakeDatabase: {
    variable: 'FLEET_Q_SNOWFLAKE_DATABASE',
    field: nonEmptyText().optional(),
    description: 'Snowflake database; required for `snowflake`.',
  },
  snowflakeSchema: {
    variable: 'FLEET_Q_SNOWFLAKE_SCHEMA',
    field: identifierField(false).default('PUBLIC'),
    description: 'Snowflake schema holding the tables; must match `^[A-Za-z_][A-Za-z0-9_]*$`.',
  },
  snowflakeWarehouse: {
    variable: 'FLEET_Q_SNOWFLAKE_WAREHOUSE',
    field: nonEmptyText().optional(),
    description: 'Snowflake warehouse that runs the queue’s statements; required for `snowflake`.',
  },
  snowflakeRole: {
    variable: 'FLEET_Q_SNOWFLAKE_ROLE',
    field: nonEmptyText().optional(),
    description: 'Snowflake role; the user’s default role when unset.',
  },
  snowflakeAccessUrl: {
    variable: 'FLEET_Q_SNOWFLAKE_ACCESS_URL',
    field: nonEmptyText().optional(),
    description: 'A non-default Snowflake endpoint (private link, proxy), e.g. `https://acme.privatelink.snowflakecomputing.com`.',
  },
  snowflakePollIntervalSeconds: {
    variable: 'FLEET_Q_SNOWFLAKE_POLL_INTERVAL_SECONDS',
    field: seconds(0, true).default(1),
    description: 'Snowflake: how soon an idle pod looks for new work after the queue last changed; doubles while nothing changes.',
  },
  snowflakePollMaxSeconds: {
    variable: 'FLEET_Q_SNOWFLAKE_POLL_MAX_SECONDS',
    field: seconds(0, true).default(30),
    description: 'Snowflake: the cap of that idle back-off (each poll is one metadata-only statement).',
  },
  snowflakeClaimBatchShare: {
    variable: 'FLEET_Q_SNOWFLAKE_CLAIM_BATCH_SHARE',
    field: numberField({ min: 0, minExclusive: true, max: 1 }).default(0.5),
    description:
      'Snowflake: while steps run, a pod claims again only once this share of its slots is free (a pod running nothing claims at once), so claims come in batches: fewer statements per step, at the price of slots waiting for the batch; in (0, 1].',
  },
  inspect: {
    variable: 'FLEET_Q_INSPECT',
    field: nonEmptyText()
      .refine((v) => /^wss?:\/\/[^/:\s]+(:\d{1,5})?(\/\S*)?$/.test(v), { error: 'must be a WebSocket URL, ws://host:port or wss://host:port' })
      .optional(),
    description:
      'Off by default. `ws://host:port` (or `wss://`): stream the pod’s actors (supervisor, slots, steps, lifecycles) live to a Stately WebSocket inspector there. Inspection events carry step arguments and results.',
  },
} as const satisfies Record<string, VariableRow>;

/** The `FleetConfig` keys. */
export type ConfigKey = keyof typeof VARIABLES;

/** One `FLEET_Q_*` variable as documented to operators (derived from its row). */
export interface ConfigVariable {
  readonly variable: string;
  /** The `FleetConfig` key: the variable without `FLEET_Q_`, camel-cased. */
  readonly key: ConfigKey;
  /** The default as shown in the docs; empty when the variable has none. */
  readonly default: string;
  readonly description: string;
  readonly secret?: SecretKind;
}

/** The default a row documents: its `shownDefault`, else its field's default value, else none. */
function shownDefault(row: VariableRow): string {
  if (row.shownDefault !== undefined) return row.shownDefault;
  const def = row.field.def as { readonly type: string; readonly defaultValue?: unknown };
  return def.type === 'default' ? String(def.defaultValue) : '';
}

/** Every variable, in the order the README lists them. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = (Object.entries(VARIABLES) as [ConfigKey, VariableRow][]).map(([key, row]) => ({
  variable: row.variable,
  key,
  default: shownDefault(row),
  description: row.description,
  ...(row.secret === undefined ? {} : { secret: row.secret }),
}));

/** `FLEET_Q_MAX_PARALLELISM` for `maxParallelism`; the one place keys map to variable names. */
export function variableOf(key: string): string {
  return CONFIG_VARIABLES.find((v) => v.key === key)?.variable ?? key;
}
