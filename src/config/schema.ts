/**
 * The zod schema of the configuration: the fields of the variable table (variables.ts) in one strict
 * object, plus the rules that tie fields together. Issue paths are config keys; config.ts turns them
 * into variable names. Must not list fields itself (the table does) or read the environment
 * (config.ts hands it one object). The only I/O here is a readability check of the PostgreSQL CA
 * file, so a wrong path is reported with its variable, at start, with the other problems.
 */
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { VARIABLES } from './variables.js';

/** The zod field of each row of the table, keyed like `FleetConfig`. */
type FieldShape = { readonly [K in keyof typeof VARIABLES]: (typeof VARIABLES)[K]['field'] };

function fieldShape(): FieldShape {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, row] of Object.entries(VARIABLES)) shape[key] = row.field;
  return shape as FieldShape;
}

/** Every field of the table. Strict: an unknown override key is a problem, not ignored. */
const fields = z.strictObject(fieldShape());

type Fields = z.output<typeof fields>;
type Key = keyof Fields;

const SNOWFLAKE_REQUIRED: readonly Key[] = ['snowflakeAccount', 'snowflakeUser', 'snowflakePassword', 'snowflakeDatabase', 'snowflakeWarehouse'];

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
    for (const key of SNOWFLAKE_REQUIRED) {
      if (ok(key) && data[key] === undefined) problem(key, 'is required when FLEET_Q_STORAGE_MODE is snowflake');
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
