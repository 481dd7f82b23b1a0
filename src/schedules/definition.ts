/**
 * Recurring schedules as users declare them (`schedules` export of the FLEET_Q_HANDLERS module, or
 * `createPod({ schedules })`) and their checked, compiled form. Owns the declaration's shape and every
 * rule a schedule must meet before a pod may start: a unique name, a cron expression croner accepts
 * (5 fields, or 6 with seconds first), a real IANA time zone, a registered step type whose args pass
 * its schema, and a missed-tick policy. Every problem is listed at once (`ConfigError`); it never
 * touches a store or a clock beyond checking that the expression has a next run at all.
 *
 * croner (pinned) is the parser: no dependencies, time zones through `Intl`, seconds, and both
 * `previousRuns` and `nextRun`, which the stateless tick arithmetic of ticks.ts needs.
 */
import { Cron } from 'croner';
import { ConfigError, ValidationError, type FleetErrorItem } from '../errors.js';
import { checkSubmission, type SubmissionDefaults } from '../steps/submission.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Json, StepSubmitParams } from '../store/store.js';

/** Schedule names: like step types, so they read well inside idempotency keys and log lines. */
export const SCHEDULE_NAME_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** Most missed ticks one schedule may backfill: bounds the batch a new leader submits after an outage. */
export const MAX_BACKFILL = 100;

/**
 * What happens to ticks that came due while no leader enqueued them (an outage, a slow leader):
 * `skip` enqueues only the latest due tick; `{ backfill: N }` enqueues up to the N most recent.
 */
export type MissedTickPolicy = 'skip' | { readonly backfill: number };

/** One recurring schedule as declared. */
export interface ScheduleDefinition {
  /** Unique among the pod's schedules; part of each tick's idempotency key, so renaming starts afresh. */
  readonly name: string;
  /** The step type each tick submits (must be registered on the pod). */
  readonly type: string;
  /** 5 fields (`m h dom mon dow`) or 6 with seconds first (`s m h dom mon dow`). */
  readonly cron: string;
  /** IANA time zone the expression is read in; default `UTC`. */
  readonly timezone?: string;
  /** Args of every tick's step, checked against the type's schema at load; default `{}`. */
  readonly args?: Json;
  readonly metadata?: { readonly [key: string]: Json };
  readonly priority?: number;
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
  /** Default `skip`. */
  readonly missed?: MissedTickPolicy;
}

/** A checked schedule, ready for tick arithmetic and submits. */
export interface Schedule {
  readonly name: string;
  readonly type: string;
  readonly cron: string;
  readonly timezone: string;
  /** How many of the most recent due ticks each enqueue round covers: 1 for `skip`, N for `backfill: N`. */
  readonly window: number;
  readonly missed: 'skip' | 'backfill';
  readonly pattern: Cron;
  /** The submit of every tick, less its idempotency key and tick metadata. */
  readonly submission: Omit<StepSubmitParams, 'now' | 'idempotencyKey'>;
}

const KNOWN_FIELDS = new Set(['name', 'type', 'cron', 'timezone', 'args', 'metadata', 'priority', 'maxRetries', 'timeoutMs', 'missed']);

/**
 * Checks `definitions` against `registry` and compiles them; throws `ConfigError` listing every
 * problem (loc `schedules[i].field`) so a pod with any bad schedule refuses to start.
 */
export function compileSchedules(definitions: readonly unknown[], registry: StepRegistry, defaults: SubmissionDefaults): Schedule[] {
  const problems: FleetErrorItem[] = [];
  const schedules: Schedule[] = [];
  const names = new Set<string>();
  definitions.forEach((raw, i) => {
    const at = (field: string): string => `schedules[${i}].${field}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ loc: `schedules[${i}]`, msg: 'must be an object { name, type, cron, timezone?, args?, missed?, … }' });
      return;
    }
    const d = raw as Partial<Record<keyof ScheduleDefinition, unknown>>;
    const found: FleetErrorItem[] = [];
    for (const key of Object.keys(d)) if (!KNOWN_FIELDS.has(key)) found.push({ loc: at(key), msg: 'unknown field' });
    const name = typeof d.name === 'string' ? d.name : '';
    if (!SCHEDULE_NAME_PATTERN.test(name)) found.push({ loc: at('name'), msg: `must match ${SCHEDULE_NAME_PATTERN.source}` });
    else if (names.has(name)) found.push({ loc: at('name'), msg: `'${name}' is declared twice` });
    names.add(name);
    const timezone = d.timezone === undefined ? 'UTC' : d.timezone;
    if (typeof timezone !== 'string' || !isTimeZone(timezone)) found.push({ loc: at('timezone'), msg: `'${String(timezone)}' is not an IANA time zone` });
    const pattern = typeof d.cron === 'string' ? parseCron(d.cron, typeof timezone === 'string' && isTimeZone(timezone) ? timezone : 'UTC') : undefined;
    if (typeof pattern === 'string' || pattern === undefined) {
      found.push({ loc: at('cron'), msg: typeof pattern === 'string' ? pattern : 'must be a cron expression string' });
    }
    const window = windowOf(d.missed);
    if (window === undefined) found.push({ loc: at('missed'), msg: `must be 'skip' or { backfill: N } with N an integer from 1 to ${MAX_BACKFILL}` });
    const checked = checkSubmission(
      registry,
      defaults,
      { type: d.type, args: d.args, metadata: d.metadata, priority: d.priority, max_retries: d.maxRetries, timeout_ms: d.timeoutMs },
      '',
    );
    found.push(...checked.problems.map((p) => ({ loc: at(p.loc.replace(/^max_retries/, 'maxRetries').replace(/^timeout_ms/, 'timeoutMs')), msg: p.msg })));
    // checkSubmission checks args only once the other fields pass; a pod that refuses to start should name them all.
    if (
      checked.params === undefined &&
      typeof d.type === 'string' &&
      registry.get(d.type) !== undefined &&
      !checked.problems.some((p) => p.loc.startsWith('args'))
    ) {
      found.push(...argsProblems(registry, d.type, d.args).map((p) => ({ loc: at(p.loc), msg: p.msg })));
    }
    problems.push(...found);
    if (found.length > 0 || checked.params === undefined || typeof pattern !== 'object' || window === undefined) return;
    const { idempotencyKey: _key, delayMs: _delay, ...submission } = checked.params;
    schedules.push({
      name,
      type: submission.type,
      cron: d.cron as string,
      timezone: timezone as string,
      window,
      missed: d.missed === undefined || d.missed === 'skip' ? 'skip' : 'backfill',
      pattern,
      submission,
    });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return schedules;
}

function argsProblems(registry: StepRegistry, type: string, args: unknown): FleetErrorItem[] {
  try {
    registry.parseArgs(type, args ?? {});
    return [];
  } catch (err) {
    return err instanceof ValidationError && err.errors !== undefined ? [...err.errors] : [{ loc: 'args', msg: String(err) }];
  }
}

/** The parsed expression, or why croner refused it (also an expression that never fires). */
function parseCron(expression: string, timezone: string): Cron | string {
  try {
    const pattern = new Cron(expression, { paused: true, timezone, mode: '5-or-6-parts' });
    if (pattern.nextRun() === null) return `'${expression}' never fires`;
    return pattern;
  } catch (err) {
    return `'${expression}' is not a cron expression croner accepts (5 fields, or 6 with seconds first): ${(err as Error).message}`;
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function windowOf(missed: unknown): number | undefined {
  if (missed === undefined || missed === 'skip') return 1;
  if (missed === null || typeof missed !== 'object' || Object.keys(missed).length !== 1) return undefined;
  const n = (missed as { backfill?: unknown }).backfill;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_BACKFILL ? n : undefined;
}
