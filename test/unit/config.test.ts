/**
 * loadConfig, capacityOf, storePolicyOf and redactConfig, on plain env objects (never process.env).
 * Failure cases assert the exact variable names reported, so a rule that stops firing fails here.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capacityOf, loadConfig, redactConfig, storePolicyOf, type FleetConfig } from '../../src/config/config.js';
import { ConfigError, type FleetErrorItem } from '../../src/errors.js';

/** The problems `loadConfig` reports; fails the test when it does not throw a ConfigError. */
function problemsOf(env: NodeJS.ProcessEnv, overrides: Parameters<typeof loadConfig>[1] = {}): readonly FleetErrorItem[] {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).errors ?? [];
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

const locs = (problems: readonly FleetErrorItem[]) => problems.map((p) => p.loc);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      storageMode: 'sqlite',
      sqliteDbPath: './fleet-q.db',
      databaseUrl: undefined,
      databaseSslRejectUnauthorized: true,
      databaseSslCa: undefined,
      dbSchema: 'public',
      tablePrefix: '',
      podId: expect.any(String),
      maxParallelism: 10,
      capacityThreshold: 0.8,
      heartbeatIntervalSeconds: 30,
      claimIntervalSeconds: 5,
      recoveryIntervalSeconds: 300,
      deadPodThresholdSeconds: 180,
      heartbeatLatencyBudgetSeconds: 1,
      leaderCheckIntervalSeconds: 60,
      apiHost: '127.0.0.1',
      apiPort: 8000,
      apiTokensRead: undefined,
      apiTokensSubmit: undefined,
      apiTokensAdmin: undefined,
      apiAuth: 'tokens',
      metricsPublic: false,
      logLevel: 'info',
      logFormat: 'json',
      defaultMaxRetries: 3,
      baseDelayMs: 1000,
      maxDelayMs: 300000,
      defaultStepTimeoutMs: 900000,
      retentionDays: 30,
      shutdownGraceSeconds: 25,
      maxReleases: 3,
      handlers: undefined,
      snowflakeAccount: undefined,
      snowflakeUser: undefined,
      snowflakePassword: undefined,
      snowflakeDatabase: undefined,
      snowflakeSchema: 'PUBLIC',
      snowflakeWarehouse: undefined,
      snowflakeRole: undefined,
      inspect: undefined,
      snowflakePrivateKeyPath: undefined,
      snowflakePrivateKeyPassphrase: undefined,
      snowflakeAccessUrl: undefined,
      snowflakePollIntervalSeconds: 1,
      snowflakePollMaxSeconds: 30,
      snowflakeClaimBatchShare: 0.5,
    } satisfies Record<keyof FleetConfig, unknown>);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('the pod name defaults to the host name, made valid', () => {
    const expected =
      hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .slice(0, 63) || 'pod';
    expect(loadConfig({}).podId).toBe(expected);
  });

  it('an empty or blank variable counts as unset', () => {
    const config = loadConfig({ FLEET_Q_MAX_PARALLELISM: '', FLEET_Q_API_PORT: '   ', FLEET_Q_STORAGE_MODE: '' });
    expect([config.maxParallelism, config.apiPort, config.storageMode]).toEqual([10, 8000, 'sqlite']);
  });
});

describe('parsing', () => {
  it('parses every variable', async () => {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\n');
    const config = loadConfig({
      FLEET_Q_STORAGE_MODE: 'postgres',
      FLEET_Q_SQLITE_DB_PATH: '/data/q.db',
      FLEET_Q_DATABASE_URL: 'postgresql://fleet:pw@db:5432/queue?sslmode=require',
      FLEET_Q_DATABASE_SSL_REJECT_UNAUTHORIZED: 'false',
      FLEET_Q_DATABASE_SSL_CA: ca,
      FLEET_Q_DB_SCHEMA: 'jobs',
      FLEET_Q_TABLE_PREFIX: 'fq_',
      FLEET_Q_POD_ID: 'worker-1.eu_west',
      FLEET_Q_MAX_PARALLELISM: '40',
      FLEET_Q_CAPACITY_THRESHOLD: '0.5',
      FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '10',
      FLEET_Q_CLAIM_INTERVAL_SECONDS: '2',
      FLEET_Q_RECOVERY_INTERVAL_SECONDS: '120',
      FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '45',
      FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '2.5',
      FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS: '20',
      FLEET_Q_API_HOST: '0.0.0.0',
      FLEET_Q_API_PORT: '0',
      FLEET_Q_API_TOKENS_READ: 'read-token-0123456789, read-token-abcdefghij',
      FLEET_Q_API_TOKENS_SUBMIT: 'submit-token-0123456789',
      FLEET_Q_API_TOKENS_ADMIN: 'admin-token-0123456789',
      FLEET_Q_API_AUTH: 'Tokens',
      FLEET_Q_METRICS_PUBLIC: 'true',
      FLEET_Q_LOG_LEVEL: 'DEBUG',
      FLEET_Q_LOG_FORMAT: 'Console',
      FLEET_Q_DEFAULT_MAX_RETRIES: '0',
      FLEET_Q_BASE_DELAY_MS: '250',
      FLEET_Q_MAX_DELAY_MS: '60000',
      FLEET_Q_DEFAULT_STEP_TIMEOUT_MS: '5000',
      FLEET_Q_RETENTION_DAYS: '0',
      FLEET_Q_SHUTDOWN_GRACE_SECONDS: '0',
      FLEET_Q_MAX_RELEASES: '5',
      FLEET_Q_HANDLERS: './steps.js',
      FLEET_Q_SNOWFLAKE_ACCOUNT: 'acme-x1',
      FLEET_Q_SNOWFLAKE_USER: 'svc',
      FLEET_Q_SNOWFLAKE_PASSWORD: 'sfpw',
      FLEET_Q_SNOWFLAKE_DATABASE: 'QUEUE',
      FLEET_Q_SNOWFLAKE_SCHEMA: 'FLEET',
      FLEET_Q_SNOWFLAKE_WAREHOUSE: 'WH',
      FLEET_Q_SNOWFLAKE_ROLE: 'QUEUE_ROLE',
      FLEET_Q_INSPECT: 'ws://127.0.0.1:8090',
    });
    expect(config).toEqual({
      storageMode: 'postgres',
      sqliteDbPath: '/data/q.db',
      databaseUrl: 'postgresql://fleet:pw@db:5432/queue?sslmode=require',
      databaseSslRejectUnauthorized: false,
      databaseSslCa: ca,
      dbSchema: 'jobs',
      tablePrefix: 'fq_',
      podId: 'worker-1.eu_west',
      maxParallelism: 40,
      capacityThreshold: 0.5,
      heartbeatIntervalSeconds: 10,
      claimIntervalSeconds: 2,
      recoveryIntervalSeconds: 120,
      deadPodThresholdSeconds: 45,
      heartbeatLatencyBudgetSeconds: 2.5,
      leaderCheckIntervalSeconds: 20,
      apiHost: '0.0.0.0',
      apiPort: 0,
      apiTokensRead: 'read-token-0123456789, read-token-abcdefghij',
      apiTokensSubmit: 'submit-token-0123456789',
      apiTokensAdmin: 'admin-token-0123456789',
      apiAuth: 'tokens',
      metricsPublic: true,
      logLevel: 'debug',
      logFormat: 'console',
      defaultMaxRetries: 0,
      baseDelayMs: 250,
      maxDelayMs: 60000,
      defaultStepTimeoutMs: 5000,
      retentionDays: 0,
      shutdownGraceSeconds: 0,
      maxReleases: 5,
      handlers: './steps.js',
      snowflakeAccount: 'acme-x1',
      snowflakeUser: 'svc',
      snowflakePassword: 'sfpw',
      snowflakeDatabase: 'QUEUE',
      snowflakeSchema: 'FLEET',
      snowflakeWarehouse: 'WH',
      snowflakeRole: 'QUEUE_ROLE',
      inspect: 'ws://127.0.0.1:8090',
      snowflakePrivateKeyPath: undefined,
      snowflakePrivateKeyPassphrase: undefined,
      snowflakeAccessUrl: undefined,
      snowflakePollIntervalSeconds: 1,
      snowflakePollMaxSeconds: 30,
      snowflakeClaimBatchShare: 0.5,
    } satisfies Record<keyof FleetConfig, unknown>);
  });

  it('intervals, thresholds and grace accept fractions', () => {
    const config = loadConfig({
      FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '0.2',
      FLEET_Q_CLAIM_INTERVAL_SECONDS: '.05',
      FLEET_Q_RECOVERY_INTERVAL_SECONDS: '1.5',
      FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '0.6',
      FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '0.2',
      FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS: '0.25',
      FLEET_Q_SHUTDOWN_GRACE_SECONDS: '2.5',
      FLEET_Q_RETENTION_DAYS: '0.5',
      FLEET_Q_CAPACITY_THRESHOLD: '1',
    });
    expect(config).toMatchObject({
      heartbeatIntervalSeconds: 0.2,
      claimIntervalSeconds: 0.05,
      recoveryIntervalSeconds: 1.5,
      deadPodThresholdSeconds: 0.6,
      leaderCheckIntervalSeconds: 0.25,
      shutdownGraceSeconds: 2.5,
      retentionDays: 0.5,
      capacityThreshold: 1,
    });
  });

  it.each(['10abc', '0x10', 'Infinity', 'NaN', '1,000', '10 0', '1e'])('refuses the number %j', (raw) => {
    const problems = problemsOf({ FLEET_Q_MAX_PARALLELISM: raw });
    expect(problems).toEqual([{ loc: 'FLEET_Q_MAX_PARALLELISM', msg: expect.stringContaining(JSON.stringify(raw)) }]);
  });

  it('accepts decimal forms strictly equal to an integer and surrounding whitespace', () => {
    expect(loadConfig({ FLEET_Q_MAX_PARALLELISM: ' 12 ' }).maxParallelism).toBe(12);
    expect(loadConfig({ FLEET_Q_MAX_DELAY_MS: '6e4' }).maxDelayMs).toBe(60000);
  });

  it.each([
    ['FLEET_Q_MAX_PARALLELISM', '0'],
    ['FLEET_Q_MAX_PARALLELISM', '1001'],
    ['FLEET_Q_MAX_PARALLELISM', '2.5'],
    ['FLEET_Q_CAPACITY_THRESHOLD', '0'],
    ['FLEET_Q_CAPACITY_THRESHOLD', '1.01'],
    ['FLEET_Q_HEARTBEAT_INTERVAL_SECONDS', '0'],
    ['FLEET_Q_CLAIM_INTERVAL_SECONDS', '-1'],
    ['FLEET_Q_RECOVERY_INTERVAL_SECONDS', '3000000'],
    ['FLEET_Q_API_PORT', '65536'],
    ['FLEET_Q_API_PORT', '-1'],
    ['FLEET_Q_DEFAULT_MAX_RETRIES', '26'],
    ['FLEET_Q_BASE_DELAY_MS', '1.5'],
    ['FLEET_Q_DEFAULT_STEP_TIMEOUT_MS', '0'],
    ['FLEET_Q_RETENTION_DAYS', '-1'],
    ['FLEET_Q_SHUTDOWN_GRACE_SECONDS', '-0.1'],
    ['FLEET_Q_MAX_RELEASES', '-1'],
    ['FLEET_Q_STORAGE_MODE', 'oracle'],
    ['FLEET_Q_LOG_LEVEL', 'verbose'],
    ['FLEET_Q_LOG_FORMAT', 'pretty'],
    ['FLEET_Q_DATABASE_SSL_REJECT_UNAUTHORIZED', 'maybe'],
    ['FLEET_Q_POD_ID', '-leading-dash'],
    ['FLEET_Q_POD_ID', 'has space'],
    ['FLEET_Q_POD_ID', 'x'.repeat(64)],
    ['FLEET_Q_DB_SCHEMA', 'my-schema'],
    ['FLEET_Q_TABLE_PREFIX', '1abc'],
    ['FLEET_Q_TABLE_PREFIX', 'p'.repeat(50)],
    ['FLEET_Q_SNOWFLAKE_SCHEMA', 'a.b'],
    ['FLEET_Q_SNOWFLAKE_CLAIM_BATCH_SHARE', '0'],
    ['FLEET_Q_SNOWFLAKE_CLAIM_BATCH_SHARE', '1.5'],
    ['FLEET_Q_DATABASE_URL', 'ftp://u@h/db'],
    ['FLEET_Q_DATABASE_URL', 'not a url'],
  ])('%s=%j is refused, naming the variable', (variable, raw) => {
    const problems = problemsOf({ [variable]: raw });
    expect(problems.length).toBeGreaterThan(0);
    expect(new Set(locs(problems))).toEqual(new Set([variable]));
    for (const p of problems) expect(p.msg.length).toBeGreaterThan(5);
  });

  it('accepts WARNING as warn and postgresql as postgres, in any case', () => {
    const config = loadConfig({ FLEET_Q_LOG_LEVEL: 'WARNING', FLEET_Q_STORAGE_MODE: 'PostgreSQL', FLEET_Q_DATABASE_URL: 'postgres://h/db' });
    expect([config.logLevel, config.storageMode]).toEqual(['warn', 'postgres']);
  });

  it('accepts the Python names CRITICAL (fatal) and text (console)', () => {
    const config = loadConfig({ FLEET_Q_LOG_LEVEL: 'CRITICAL', FLEET_Q_LOG_FORMAT: 'Text' });
    expect([config.logLevel, config.logFormat]).toEqual(['fatal', 'console']);
  });

  it('never echoes a malformed database URL, which may hold a password', () => {
    const [problem] = problemsOf({ FLEET_Q_DATABASE_URL: 'postgres//user:hunter2@host' });
    expect(problem?.loc).toBe('FLEET_Q_DATABASE_URL');
    expect(problem?.msg).not.toContain('hunter2');
  });
});

describe('every problem at once', () => {
  it('three bad variables give three problems, each named', () => {
    const problems = problemsOf({ FLEET_Q_MAX_PARALLELISM: 'ten', FLEET_Q_API_PORT: '99999', FLEET_Q_LOG_LEVEL: 'loud' });
    expect(locs(problems)).toEqual(['FLEET_Q_MAX_PARALLELISM', 'FLEET_Q_API_PORT', 'FLEET_Q_LOG_LEVEL']);
  });

  it('field, cross-field, storage and unknown-variable problems are reported together', () => {
    const problems = problemsOf({
      FLEET_Q_STORAGE_MODE: 'postgres',
      FLEET_Q_CAPACITY_THRESHOLD: '2',
      FLEET_Q_BASE_DELAY_MS: '5000',
      FLEET_Q_MAX_DELAY_MS: '1000',
      FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '179',
      FLEET_Q_MAX_PARALELISM: '4',
    });
    expect(locs(problems)).toEqual([
      'FLEET_Q_DATABASE_URL',
      'FLEET_Q_CAPACITY_THRESHOLD',
      'FLEET_Q_DEAD_POD_THRESHOLD_SECONDS',
      'FLEET_Q_BASE_DELAY_MS',
      'FLEET_Q_MAX_PARALELISM',
    ]);
  });

  it('the error message lists each variable on its own line', () => {
    try {
      loadConfig({ FLEET_Q_MAX_PARALLELISM: 'x', FLEET_Q_LOG_FORMAT: 'y' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/FLEET_Q_MAX_PARALLELISM: .*\n.*FLEET_Q_LOG_FORMAT: /);
    }
  });
});

describe('cross-field rules', () => {
  it('the dead-pod threshold must be at least the heartbeat interval + 2 × the latency budget, and the message says what would work', () => {
    expect(loadConfig({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '3' }).deadPodThresholdSeconds).toBe(3);
    const problems = problemsOf({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '2.999' });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.loc).toBe('FLEET_Q_DEAD_POD_THRESHOLD_SECONDS');
    expect(problems[0]!.msg).toContain('(1 + 2 × 1 = 3), got 2.999');
    expect(problems[0]!.msg).toContain('raise it to 3 or more');
    expect(problems[0]!.msg).toContain('lower FLEET_Q_HEARTBEAT_INTERVAL_SECONDS to 0.999 or less');
    expect(problems[0]!.msg).toContain('lower FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS to 0.999 or less');
    // Each suggested value is accepted.
    expect(() => loadConfig({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '0.999', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '2.999' })).not.toThrow();
    expect(() =>
      loadConfig({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '2.999', FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '0.999' }),
    ).not.toThrow();
  });

  it('the latency budget defaults by store: Snowflake declares a larger one', () => {
    expect(loadConfig({}).heartbeatLatencyBudgetSeconds).toBe(1);
    const snowflake = {
      FLEET_Q_STORAGE_MODE: 'snowflake',
      FLEET_Q_SNOWFLAKE_ACCOUNT: 'a',
      FLEET_Q_SNOWFLAKE_USER: 'u',
      FLEET_Q_SNOWFLAKE_PASSWORD: 'p',
      FLEET_Q_SNOWFLAKE_DATABASE: 'd',
      FLEET_Q_SNOWFLAKE_WAREHOUSE: 'w',
    };
    expect(loadConfig(snowflake).heartbeatLatencyBudgetSeconds).toBe(5);
    // 1 s / 3 s suits SQLite and PostgreSQL, not Snowflake's default budget; an explicit budget decides.
    expect(locs(problemsOf({ ...snowflake, FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '3' }))).toEqual([
      'FLEET_Q_DEAD_POD_THRESHOLD_SECONDS',
    ]);
    expect(
      loadConfig({
        ...snowflake,
        FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1',
        FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '3',
        FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '1',
      }).deadPodThresholdSeconds,
    ).toBe(3);
  });

  it('the budget must be positive', () => {
    expect(locs(problemsOf({ FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '0' }))).toEqual(['FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS']);
  });

  it('the default threshold refuses a heartbeat over 178 s', () => {
    expect(loadConfig({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '178' }).heartbeatIntervalSeconds).toBe(178);
    expect(locs(problemsOf({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '178.5' }))).toEqual(['FLEET_Q_DEAD_POD_THRESHOLD_SECONDS']);
  });

  it('the base delay must not exceed the max delay', () => {
    expect(loadConfig({ FLEET_Q_BASE_DELAY_MS: '2000', FLEET_Q_MAX_DELAY_MS: '2000' }).baseDelayMs).toBe(2000);
    expect(locs(problemsOf({ FLEET_Q_BASE_DELAY_MS: '2001', FLEET_Q_MAX_DELAY_MS: '2000' }))).toEqual(['FLEET_Q_BASE_DELAY_MS']);
  });

  it('a cross-field rule is not judged on a value that failed on its own', () => {
    expect(locs(problemsOf({ FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: 'soon', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '1' }))).toEqual([
      'FLEET_Q_HEARTBEAT_INTERVAL_SECONDS',
    ]);
  });

  it('postgres needs a database URL', () => {
    expect(problemsOf({ FLEET_Q_STORAGE_MODE: 'postgres' })).toEqual([{ loc: 'FLEET_Q_DATABASE_URL', msg: expect.stringContaining('postgres') }]);
    expect(loadConfig({ FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: 'postgres://localhost/q' }).databaseUrl).toBe('postgres://localhost/q');
  });

  it('postgres needs a readable CA file when one is named; other modes do not look at it', () => {
    const missing = join(dir, 'no-such-ca.pem');
    const env = { FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: 'postgres://localhost/q', FLEET_Q_DATABASE_SSL_CA: missing };
    expect(problemsOf(env)).toEqual([{ loc: 'FLEET_Q_DATABASE_SSL_CA', msg: `cannot read ${missing}` }]);
    expect(loadConfig({ FLEET_Q_DATABASE_SSL_CA: missing }).databaseSslCa).toBe(missing);
  });

  it('mysql needs a mysql:// database URL, and postgres refuses one', () => {
    expect(problemsOf({ FLEET_Q_STORAGE_MODE: 'mysql' })).toEqual([{ loc: 'FLEET_Q_DATABASE_URL', msg: expect.stringContaining('mysql') }]);
    expect(problemsOf({ FLEET_Q_STORAGE_MODE: 'mysql', FLEET_Q_DATABASE_URL: 'postgres://h/q' })).toEqual([
      { loc: 'FLEET_Q_DATABASE_URL', msg: expect.stringContaining('mysql://') },
    ]);
    expect(locs(problemsOf({ FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: 'mysql://h/q' }))).toEqual(['FLEET_Q_DATABASE_URL']);
    const config = loadConfig({ FLEET_Q_STORAGE_MODE: 'MariaDB', FLEET_Q_DATABASE_URL: 'mysql://fleet:pw@db:3306/queue' });
    expect([config.storageMode, config.databaseUrl]).toEqual(['mysql', 'mysql://fleet:pw@db:3306/queue']);
  });

  it('mysql needs a readable CA file when one is named, reported with the other problems', () => {
    const missing = join(dir, 'no-such-ca.pem');
    const env = { FLEET_Q_STORAGE_MODE: 'mysql', FLEET_Q_DATABASE_SSL_CA: missing, FLEET_Q_MAX_PARALLELISM: '0' };
    expect(locs(problemsOf(env)).sort()).toEqual(['FLEET_Q_DATABASE_SSL_CA', 'FLEET_Q_DATABASE_URL', 'FLEET_Q_MAX_PARALLELISM']);
  });

  it('snowflake needs account, user, database, warehouse and a key or password, not role or schema', () => {
    expect(locs(problemsOf({ FLEET_Q_STORAGE_MODE: 'snowflake', FLEET_Q_SNOWFLAKE_USER: 'svc' }))).toEqual([
      'FLEET_Q_SNOWFLAKE_ACCOUNT',
      'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH',
      'FLEET_Q_SNOWFLAKE_DATABASE',
      'FLEET_Q_SNOWFLAKE_WAREHOUSE',
    ]);
    const config = loadConfig({
      FLEET_Q_STORAGE_MODE: 'snowflake',
      FLEET_Q_SNOWFLAKE_ACCOUNT: 'a',
      FLEET_Q_SNOWFLAKE_USER: 'u',
      FLEET_Q_SNOWFLAKE_PASSWORD: 'p',
      FLEET_Q_SNOWFLAKE_DATABASE: 'd',
      FLEET_Q_SNOWFLAKE_WAREHOUSE: 'w',
    });
    expect([config.snowflakeSchema, config.snowflakeRole]).toEqual(['PUBLIC', undefined]);
  });

  it('sqlite needs no database URL or credentials', () => {
    expect(loadConfig({ FLEET_Q_STORAGE_MODE: 'sqlite' }).storageMode).toBe('sqlite');
  });
});

describe('unknown variables', () => {
  it('a misspelt FLEET_Q_ variable is a problem with a suggestion', () => {
    expect(problemsOf({ FLEET_Q_HEARTBEAT_INTERVAL_SECOND: '5' })).toEqual([
      { loc: 'FLEET_Q_HEARTBEAT_INTERVAL_SECOND', msg: expect.stringContaining('did you mean FLEET_Q_HEARTBEAT_INTERVAL_SECONDS?') },
    ]);
    expect(problemsOf({ FLEET_Q_COLOUR: 'blue' })).toEqual([{ loc: 'FLEET_Q_COLOUR', msg: 'is not a FLEET-Q variable' }]);
  });

  it('FLEET_Q_TEST_*, FLEET_Q_REQUIRE_STORES and variables of other programs are ignored', () => {
    expect(() =>
      loadConfig({ FLEET_Q_TEST_SEED: '42', FLEET_Q_TEST_DATABASE_URL: 'x', FLEET_Q_REQUIRE_STORES: 'sqlite', PATH: '/bin', FLEET_QUEUE: 'x' }),
    ).not.toThrow();
  });
});

describe('overrides', () => {
  it('win over the environment and take typed values', () => {
    const config = loadConfig(
      { FLEET_Q_SQLITE_DB_PATH: 'env.db', FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '20', FLEET_Q_MAX_PARALLELISM: '4' },
      { sqliteDbPath: 'x.db', heartbeatIntervalSeconds: 0.2, databaseSslRejectUnauthorized: false, maxParallelism: undefined },
    );
    expect([config.sqliteDbPath, config.heartbeatIntervalSeconds, config.databaseSslRejectUnauthorized, config.maxParallelism]).toEqual([
      'x.db',
      0.2,
      false,
      4,
    ]);
  });

  it('are validated by the same rules, named by variable', () => {
    expect(locs(problemsOf({}, { maxParallelism: 0, heartbeatIntervalSeconds: 179, logLevel: 'loud' }))).toEqual([
      'FLEET_Q_MAX_PARALLELISM',
      'FLEET_Q_DEAD_POD_THRESHOLD_SECONDS',
      'FLEET_Q_LOG_LEVEL',
    ]);
  });

  it('refuse a key that is not configuration', () => {
    expect(problemsOf({}, { maxParalelism: 3 } as never)).toEqual([{ loc: 'maxParalelism', msg: 'is not a configuration key' }]);
  });

  it('a loaded config passed back as overrides loads to the same config', () => {
    const first = loadConfig({ FLEET_Q_LOG_LEVEL: 'warning', FLEET_Q_CAPACITY_THRESHOLD: '0.5', FLEET_Q_POD_ID: 'p1' });
    expect(loadConfig({}, first)).toEqual(first);
  });
});

describe('derived values', () => {
  it('capacityOf floors parallelism × threshold, never below 1', () => {
    expect(capacityOf({ maxParallelism: 10, capacityThreshold: 0.8 })).toBe(8);
    expect(capacityOf({ maxParallelism: 1, capacityThreshold: 0.5 })).toBe(1);
    expect(capacityOf({ maxParallelism: 7, capacityThreshold: 1 })).toBe(7);
    expect(capacityOf({ maxParallelism: 100, capacityThreshold: 0.29 })).toBe(29);
    expect(capacityOf({ maxParallelism: 9, capacityThreshold: 0.5 })).toBe(4);
  });

  it('storePolicyOf converts the dead-pod threshold to ms', () => {
    const config = loadConfig(
      { FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '0.2', FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '0.6', FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '0.1' },
      { maxReleases: 2 },
    );
    expect(storePolicyOf(config)).toEqual({ baseDelayMs: 1000, maxDelayMs: 300000, deadPodThresholdMs: 600, maxReleases: 2 });
  });
});

describe('redactConfig', () => {
  const secretEnv = {
    FLEET_Q_STORAGE_MODE: 'postgres',
    FLEET_Q_DATABASE_URL: 'postgres://fleet:s3cret-pw@db.internal:5432/queue?sslmode=require&password=s3cret-qs',
    FLEET_Q_SNOWFLAKE_PASSWORD: 'sf-s3cret',
  };

  it('hides passwords and keeps the rest of the URL', () => {
    const view = redactConfig(loadConfig(secretEnv));
    expect(JSON.stringify(view)).not.toMatch(/s3cret/);
    expect(view['FLEET_Q_DATABASE_URL']).toBe('postgres://fleet:***@db.internal:5432/queue?sslmode=require&password=***');
    expect(view['FLEET_Q_SNOWFLAKE_PASSWORD']).toBe('***');
  });

  it('is keyed by variable name, with unset values as null', () => {
    const view = redactConfig(loadConfig({}));
    expect(view['FLEET_Q_MAX_PARALLELISM']).toBe(10);
    expect(view['FLEET_Q_DATABASE_URL']).toBeNull();
    expect(view['FLEET_Q_SNOWFLAKE_PASSWORD']).toBeNull();
    expect(Object.keys(view).every((k) => k.startsWith('FLEET_Q_'))).toBe(true);
  });

  it('hides the password of a mysql:// URL', () => {
    const view = redactConfig(loadConfig({ FLEET_Q_STORAGE_MODE: 'mysql', FLEET_Q_DATABASE_URL: 'mysql://fleet:s3cret-pw@db.internal:3306/queue' }));
    expect(view['FLEET_Q_DATABASE_URL']).toBe('mysql://fleet:***@db.internal:3306/queue');
  });

  it('leaves a URL without a password readable', () => {
    const view = redactConfig(loadConfig({ FLEET_Q_STORAGE_MODE: 'postgres', FLEET_Q_DATABASE_URL: 'postgres://db/queue' }));
    expect(view['FLEET_Q_DATABASE_URL']).toBe('postgres://db/queue');
  });
});
