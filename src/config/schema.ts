/**
 * The zod schema of the configuration: the fields of the variable table (variables.ts) in one strict
 * object, plus the rules that tie fields together. Issue paths are config keys; config.ts turns them
 * into variable names. Must not list fields itself (the table does) or read the environment
 * (config.ts hands it one object). The only I/O here is a readability check of the PostgreSQL CA
 * file, so a wrong path is reported with its variable, at start, with the other problems.
 */
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { defaultHeartbeatLatencyBudgetSeconds } from '../store/latency-budget.js';
import { isMysqlUrl } from './fields.js';
import { livenessProblem, livenessTimingOf } from './liveness.js';
import { snowflakeProblems } from './snowflake.js';
import { VARIABLES } from './variables.js';

/** The zod field of each row of the table, keyed like `FleetConfig`. */
type FieldShape = { readonly [K in keyof typeof VARIABLES]: (typeof VARIABLES)[K]['field'] };

function fieldShape(): FieldShape {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, row] of Object.entries(VARIABLES)) shape[key] = row.field;
  return shape as FieldShape;
}

/** Every field of the table. Strict: an unknown override key is a problem, not ignored. */
export const fleetConfigFields = z.strictObject(fieldShape());
const fields = fleetConfigFields;

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

  if (ok('deadPodThresholdSeconds', 'heartbeatIntervalSeconds', 'heartbeatLatencyBudgetSeconds', 'storageMode')) {
    // The liveness rule (liveness.ts): threshold ≥ interval + 2 × latency budget, in whole ms.
    const why = livenessProblem(livenessTimingOf({ ...data, heartbeatLatencyBudgetSeconds: budgetOf(data) }));
    if (why !== undefined) problem('deadPodThresholdSeconds', why);
  }
  if (ok('apiAuth') && data.apiAuth === 'none') {
    for (const key of ['apiTokensRead', 'apiTokensSubmit', 'apiTokensAdmin'] as const) {
      if (ok(key) && data[key] !== undefined && data[key].trim().replace(/,/g, '') !== '') {
        problem(key, 'is set, but FLEET_Q_API_AUTH=none turns token checks off; unset one of them');
      }
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
  if (data.storageMode === 'postgres' && ok('databaseUrl') && data.databaseUrl !== undefined && isMysqlUrl(data.databaseUrl)) {
    problem('databaseUrl', 'is a mysql:// URL but FLEET_Q_STORAGE_MODE is postgres; use a postgres:// URL or FLEET_Q_STORAGE_MODE=mysql');
  }
  if (data.storageMode === 'mysql') {
    if (ok('databaseUrl') && data.databaseUrl === undefined)
      problem('databaseUrl', 'is required when FLEET_Q_STORAGE_MODE is mysql (mysql://user:password@host:3306/database)');
    if (ok('databaseUrl') && data.databaseUrl !== undefined && !isMysqlUrl(data.databaseUrl)) {
      problem('databaseUrl', 'must start with mysql:// when FLEET_Q_STORAGE_MODE is mysql');
    }
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

/** The stated heartbeat latency budget, or the store's own default when unset. */
function budgetOf(data: Pick<Fields, 'heartbeatLatencyBudgetSeconds' | 'storageMode'>): number {
  return data.heartbeatLatencyBudgetSeconds ?? defaultHeartbeatLatencyBudgetSeconds(data.storageMode);
}

/** The whole configuration schema: fields, defaults, cross-field rules, and the budget filled in from the store. */
export const fleetConfigSchema = fields
  .superRefine(crossFieldRules, { when: () => true })
  .transform((data) => ({ ...data, heartbeatLatencyBudgetSeconds: budgetOf(data) }));

/** What `loadConfig` accepts as overrides: typed values (numbers, booleans) or the strings the environment holds. */
export type FleetConfigInput = z.input<typeof fleetConfigSchema>;
