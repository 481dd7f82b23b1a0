/**
 * The zod schema of the configuration: how each value parses (from an environment string or a typed
 * override), its range, its default, and the rules that tie fields together. Issue paths are config
 * keys; config.ts turns them into variable names. Reads no environment: config.ts hands it one object.
 * The only I/O here is `os.hostname()` for the default pod name and a readability check of the
 * PostgreSQL CA file, so a wrong path is reported with its variable, at start, with the other problems.
 */
import { accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { identifierProblems } from '../store/schema.js';
import { snowflakeProblems } from './snowflake.js';

/** Node's timers overflow past 2^31 − 1 ms (~24.8 days) and then fire at once, so no interval may be longer. */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Pod names become part of `pod_id` (`<name>-<8 hex>`) and of log lines. */
export const POD_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const STORAGE_MODES = ['sqlite', 'postgres', 'snowflake'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'console'] as const;

/** Decimal numbers only: `Number()` alone would accept '', '0x10', 'Infinity' and ' 1 '. */
const STRICT_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

interface NumberRule {
  readonly integer?: boolean;
  readonly min: number;
  /** `min` itself is not allowed. */
  readonly minExclusive?: boolean;
  readonly max?: number;
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  if (rule.max === undefined) return `${kind} ${rule.minExclusive ? '>' : '≥'} ${rule.min}`;
  return rule.minExclusive ? `${kind} > ${rule.min} and ≤ ${rule.max}` : `${kind} from ${rule.min} to ${rule.max}`;
}

function satisfies(value: number, rule: NumberRule): boolean {
  if (!Number.isFinite(value)) return false;
  if (rule.integer && !Number.isSafeInteger(value)) return false;
  if (rule.minExclusive ? value <= rule.min : value < rule.min) return false;
  return rule.max === undefined || value <= rule.max;
}

/** A number from a typed override or a strictly decimal string ("10abc" is an error, not 10). */
function numberField(rule: NumberRule) {
  const expected = describeRule(rule);
  return z.union([z.number(), z.string()], { error: `must be ${expected}` }).transform((raw, ctx) => {
    const value = typeof raw === 'number' ? raw : STRICT_NUMBER.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (satisfies(value, rule)) return value;
    ctx.issues.push({ code: 'custom', message: `must be ${expected}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

const seconds = (min: number, minExclusive: boolean) => numberField({ min, minExclusive, max: MAX_TIMER_SECONDS });

/** One of `choices`, any case; `aliases` map other spellings operators use (e.g. WARNING). */
function choiceField<const T extends readonly string[]>(choices: T, aliases: Readonly<Record<string, T[number]>> = {}) {
  const message = `must be one of ${choices.join(', ')}`;
  return z.string({ error: message }).transform((raw, ctx): T[number] => {
    const lower = raw.trim().toLowerCase();
    const value = aliases[lower] ?? choices.find((c) => c === lower);
    if (value !== undefined) return value;
    ctx.issues.push({ code: 'custom', message: `${message}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

function booleanField() {
  const message = 'must be true or false';
  return z.union([z.boolean(), z.string()], { error: message }).transform((raw, ctx) => {
    if (typeof raw === 'boolean') return raw;
    const lower = raw.trim().toLowerCase();
    if (TRUE_WORDS.includes(lower)) return true;
    if (FALSE_WORDS.includes(lower)) return false;
    ctx.issues.push({ code: 'custom', message: `${message}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

const text = () => z.string({ error: 'must be a string' });
const nonEmptyText = () => text().min(1, { error: 'must not be empty' });

function identifierField(allowEmpty: boolean) {
  return text().superRefine((value, ctx) => {
    for (const problem of identifierProblems('', value, allowEmpty)) ctx.addIssue({ code: 'custom', message: problem.msg });
  });
}

function postgresUrlField() {
  return nonEmptyText().superRefine((value, ctx) => {
    let protocol: string;
    try {
      protocol = new URL(value).protocol;
    } catch {
      // The value may hold a password: never echo it.
      ctx.addIssue({ code: 'custom', message: 'must be a URL like postgres://user:password@host:5432/database' });
      return;
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      ctx.addIssue({ code: 'custom', message: `must start with postgres:// or postgresql://, got ${protocol}//` });
    }
  });
}

/**
 * The default pod name: the host name made valid, since the operator did not choose it and a pod must
 * not refuse to start over it (Kubernetes names fit already; some FQDNs are longer than 63).
 */
export function defaultPodName(): string {
  const cleaned = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return cleaned === '' ? 'pod' : cleaned;
}

/** Every field, keyed like `FleetConfig`. Strict: an unknown override key is a problem, not ignored. */
const fields = z.strictObject({
  storageMode: choiceField(STORAGE_MODES, { postgresql: 'postgres' }).default('sqlite'),
  sqliteDbPath: nonEmptyText().default('./fleet-q.db'),
  databaseUrl: postgresUrlField().optional(),
  databaseSslRejectUnauthorized: booleanField().default(true),
  databaseSslCa: nonEmptyText().optional(),
  dbSchema: identifierField(false).default('public'),
  tablePrefix: identifierField(true).default(''),
  podId: text()
    .regex(POD_NAME_PATTERN, { error: `must match ${POD_NAME_PATTERN.source}` })
    .default(defaultPodName),
  maxParallelism: numberField({ integer: true, min: 1, max: 1000 }).default(10),
  capacityThreshold: numberField({ min: 0, minExclusive: true, max: 1 }).default(0.8),
  heartbeatIntervalSeconds: seconds(0, true).default(30),
  claimIntervalSeconds: seconds(0, true).default(5),
  recoveryIntervalSeconds: seconds(0, true).default(300),
  deadPodThresholdSeconds: seconds(0, true).default(180),
  leaderCheckIntervalSeconds: seconds(0, true).default(60),
  apiHost: nonEmptyText().default('127.0.0.1'),
  apiPort: numberField({ integer: true, min: 0, max: 65535 }).default(8000),
  // Python's level and format names, which operators of the original FLEET-Q use.
  logLevel: choiceField(LOG_LEVELS, { warning: 'warn', critical: 'fatal' }).default('info'),
  logFormat: choiceField(LOG_FORMATS, { text: 'console' }).default('json'),
  defaultMaxRetries: numberField({ integer: true, min: 0, max: 25 }).default(3),
  baseDelayMs: numberField({ integer: true, min: 0 }).default(1000),
  maxDelayMs: numberField({ integer: true, min: 0 }).default(300_000),
  defaultStepTimeoutMs: numberField({ integer: true, min: 1, max: MAX_TIMER_MS }).default(900_000),
  retentionDays: numberField({ min: 0 }).default(30),
  shutdownGraceSeconds: seconds(0, false).default(25),
  maxReleases: numberField({ integer: true, min: 0 }).default(3),
  handlers: nonEmptyText().optional(),
  snowflakeAccount: nonEmptyText().optional(),
  snowflakeUser: nonEmptyText().optional(),
  snowflakePassword: nonEmptyText().optional(),
  snowflakeDatabase: nonEmptyText().optional(),
  snowflakeSchema: identifierField(false).default('PUBLIC'),
  snowflakeWarehouse: nonEmptyText().optional(),
  snowflakeRole: nonEmptyText().optional(),
  snowflakePrivateKeyPath: nonEmptyText().optional(),
  snowflakePrivateKeyPassphrase: nonEmptyText().optional(),
  snowflakeAccessUrl: nonEmptyText().optional(),
  snowflakePollIntervalSeconds: seconds(0, true).default(1),
  snowflakePollMaxSeconds: seconds(0, true).default(30),
});

type Fields = z.output<typeof fields>;
type Key = keyof Fields;


/**
 * Rules between fields. Runs even when some fields failed (`when`), so one load reports every problem;
 * each rule only judges fields that parsed, so a bad value is reported once, by its own field.
 */
function crossFieldRules(data: Fields, ctx: z.RefinementCtx<Fields>): void {
  const failed = new Set(ctx.issues.map((issue) => issue.path?.[0]));
  const ok = (...keys: Key[]) => keys.every((k) => !failed.has(k));
  const problem = (key: Key, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });

  if (ok('deadPodThresholdSeconds', 'heartbeatIntervalSeconds')) {
    // A pod must be able to miss two beats and still prove liveness before it is declared dead (DESIGN §3).
    // Compared in whole ms: in seconds, 3 × 0.2 = 0.6000000000000001 would refuse a threshold of 0.6.
    const minimumMs = 3 * Math.round(data.heartbeatIntervalSeconds * 1000);
    if (Math.round(data.deadPodThresholdSeconds * 1000) < minimumMs) {
      problem('deadPodThresholdSeconds', `must be at least 3 × FLEET_Q_HEARTBEAT_INTERVAL_SECONDS (${minimumMs / 1000}), got ${data.deadPodThresholdSeconds}`);
    }
  }
  if (ok('baseDelayMs', 'maxDelayMs') && data.baseDelayMs > data.maxDelayMs) {
    problem('baseDelayMs', `must be at most FLEET_Q_MAX_DELAY_MS (${data.maxDelayMs}), got ${data.baseDelayMs}`);
  }
  if (!ok('storageMode')) return;
  if (data.storageMode === 'postgres') {
    if (ok('databaseUrl') && data.databaseUrl === undefined) problem('databaseUrl', 'is required when FLEET_Q_STORAGE_MODE is postgres');
    if (ok('databaseSslCa') && data.databaseSslCa !== undefined && !isReadable(data.databaseSslCa)) {
      problem('databaseSslCa', `cannot read ${data.databaseSslCa}`);
    }
  }
  if (data.storageMode === 'snowflake') {
    for (const p of snowflakeProblems(data, (key) => ok(key))) problem(p.key, p.message);
    if (ok('snowflakePollIntervalSeconds', 'snowflakePollMaxSeconds') && data.snowflakePollMaxSeconds < data.snowflakePollIntervalSeconds) {
      problem('snowflakePollMaxSeconds', `must be at least FLEET_Q_SNOWFLAKE_POLL_INTERVAL_SECONDS (${data.snowflakePollIntervalSeconds})`);
    }
  }
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The whole configuration schema: fields, defaults and cross-field rules. */
export const fleetConfigSchema = fields.superRefine(crossFieldRules, { when: () => true });

/** What `loadConfig` accepts as overrides: typed values (numbers, booleans) or the strings the environment holds. */
export type FleetConfigInput = z.input<typeof fleetConfigSchema>;
