/**
 * Configuration: the `FLEET_Q_*` environment (plus typed overrides) → one validated, frozen
 * `FleetConfig`, or a `ConfigError` listing every problem at once, each named by its variable.
 * Also the derived values other parts must agree on (capacity, store policy) and a log-safe view.
 * Must not open stores, start timers or log: callers decide what to do with a config or an error
 * (the CLI exits 2). Variables, their fields and docs are one table in variables.ts; schema.ts
 * adds the rules between them.
 */
import type { z } from 'zod';
import type { LOG_FORMATS, LOG_LEVELS, STORAGE_MODES } from './fields.js';
import { fleetConfigSchema, type FleetConfigInput } from './schema.js';
import { CONFIG_VARIABLES, variableOf } from './variables.js';
import { ConfigError, type FleetErrorItem } from '../errors.js';
import type { StorePolicy } from '../store/store.js';

export { CONFIG_VARIABLES } from './variables.js';
export type { ConfigVariable } from './variables.js';
export type { FleetConfigInput } from './schema.js';

export type StorageMode = (typeof STORAGE_MODES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

type Parsed = z.output<typeof fleetConfigSchema>;

/**
 * A validated configuration, derived from the variable table (variables.ts): each key is its
 * variable without `FLEET_Q_`, camel-cased, in the variable's own unit (seconds stay seconds), typed
 * by its zod field; every key is present, unset optional ones as `undefined`. The cross-field rules
 * (schema.ts) also hold: `deadPodThresholdSeconds ≥ heartbeatIntervalSeconds + 2 × heartbeatLatencyBudgetSeconds`
 * (filled in from the store when unset), `baseDelayMs ≤ maxDelayMs`, `databaseUrl` set for postgres and mysql, the Snowflake account, user, password, database and
 * warehouse set for snowflake.
 */
// `as K` makes the mapping non-homomorphic: keys lose their `?` but keep `| undefined`.
export type FleetConfig = { readonly [K in keyof Parsed as K]: Parsed[K] };

/** Variables with this prefix belong to tests (e.g. FLEET_Q_TEST_SEED) and are not configuration. */
const TEST_VARIABLE_PREFIX = 'FLEET_Q_TEST_';
/** Test-harness variables outside that prefix: which stores a test run must reach. */
const TEST_VARIABLES: readonly string[] = ['FLEET_Q_REQUIRE_STORES'];

/**
 * A configuration as the library API accepts it: a loaded `FleetConfig` (every key present, even the
 * unset ones) is used as is; anything else is overrides applied on top of `process.env` by `loadConfig`.
 */
export function resolveConfig(config: Partial<FleetConfigInput> | FleetConfig): FleetConfig {
  const loaded = CONFIG_VARIABLES.every((v) => Object.hasOwn(config, v.key));
  return loaded ? (config as FleetConfig) : loadConfig(process.env, config as Partial<FleetConfigInput>);
}

/**
 * Reads `env`, applies `overrides` (camelCase keys, typed values; `undefined` = not overridden) and
 * validates the result with one schema. An empty variable counts as unset.
 * @throws ConfigError listing every problem, `loc` = the variable name; unknown `FLEET_Q_*` variables
 * are problems too, so a misspelt variable is never silently ignored.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<FleetConfigInput> = {}): FleetConfig {
  const input: Record<string, unknown> = {};
  for (const { variable, key, secret } of CONFIG_VARIABLES) {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    // Stray whitespace from .env files and YAML is a common mistake; a password may mean it.
    input[key] = secret === 'value' ? raw : raw.trim();
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) input[key] = value;
  }

  const problems = unknownVariables(env);
  const parsed = fleetConfigSchema.safeParse(input);
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap(toProblems));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(sortByVariable(problems));

  // Every key present, unset ones as undefined: `resolveConfig` recognises a loaded config by its keys.
  const config: Record<string, unknown> = {};
  for (const { key } of CONFIG_VARIABLES) config[key] = parsed.data[key];
  return Object.freeze(config) as FleetConfig;
}

function toProblems(issue: { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] }): FleetErrorItem[] {
  if (issue.code === 'unrecognized_keys') {
    return (issue.keys ?? []).map((key) => ({ loc: key, msg: 'is not a configuration key' }));
  }
  const key = issue.path[0];
  return [{ loc: key === undefined ? 'config' : variableOf(String(key)), msg: issue.message }];
}

function unknownVariables(env: NodeJS.ProcessEnv): FleetErrorItem[] {
  const known = CONFIG_VARIABLES.map((v) => v.variable);
  return Object.keys(env)
    .filter((name) => name.startsWith('FLEET_Q_') && !name.startsWith(TEST_VARIABLE_PREFIX) && !TEST_VARIABLES.includes(name) && !known.includes(name))
    .sort()
    .map((name) => {
      const nearest = closest(name, known);
      return { loc: name, msg: `is not a FLEET-Q variable${nearest === undefined ? '' : `; did you mean ${nearest}?`}` };
    });
}

/** The known name within a few typos of `name`, if any. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Catalogue order, so the message reads like the README table; unknown variables last. */
function sortByVariable(problems: FleetErrorItem[]): FleetErrorItem[] {
  const rank = (loc: string) => {
    const index = CONFIG_VARIABLES.findIndex((v) => v.variable === loc);
    return index === -1 ? CONFIG_VARIABLES.length : index;
  };
  return problems
    .map((p, i) => ({ p, i }))
    .sort((x, y) => rank(x.p.loc) - rank(y.p.loc) || x.i - y.i)
    .map(({ p }) => p);
}

/** Steps a pod runs at once: `max(1, floor(maxParallelism × capacityThreshold))` (DESIGN §3). */
export function capacityOf(config: Pick<FleetConfig, 'maxParallelism' | 'capacityThreshold'>): number {
  // The epsilon keeps 100 × 0.29 = 28.999999999999996 (binary floating point) from flooring to 28.
  return Math.max(1, Math.floor(config.maxParallelism * config.capacityThreshold + 1e-9));
}

/** The rules a store is opened with, in the store's unit (ms). */
export function storePolicyOf(config: Pick<FleetConfig, 'baseDelayMs' | 'maxDelayMs' | 'deadPodThresholdSeconds' | 'maxReleases'>): StorePolicy {
  return {
    baseDelayMs: config.baseDelayMs,
    maxDelayMs: config.maxDelayMs,
    deadPodThresholdMs: Math.round(config.deadPodThresholdSeconds * 1000),
    maxReleases: config.maxReleases,
  };
}

/**
 * The configuration as it may be logged: keyed by VARIABLE NAME (what an operator sets), unset values
 * as null, secrets as `***` — for the database URL only its password, so host and database stay visible.
 */
export function redactConfig(config: FleetConfig): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const { variable, key, secret } of CONFIG_VARIABLES) {
    const value = config[key];
    if (value === undefined) view[variable] = null;
    else if (secret === 'value') view[variable] = '***';
    else if (secret === 'url-password') view[variable] = redactUrl(String(value));
    else view[variable] = value;
  }
  return view;
}

/** PostgreSQL also takes the password as a query parameter, so both places are hidden. */
function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return '***';
  }
  if (url.password !== '') url.password = '***';
  for (const name of ['password', 'sslpassword']) {
    if (url.searchParams.has(name)) url.searchParams.set(name, '***');
  }
  return url.toString();
}
