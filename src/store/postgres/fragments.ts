/**
 * SQL fragments every PostgreSQL statement shares: the statement clock, epoch-ms conversion,
 * liveness, retry backoff, the column lists that rows.ts reads, and the wake-up NOTIFY. Owns these
 * building blocks only; whole statements live in queries.ts and queries.maintenance.ts.
 *
 * `$1` is the test-only `now` (epoch ms, or NULL for the database clock) wherever a clock is used,
 * and the `clock` CTE turns it into the one timestamp the whole statement judges by.
 * `clock_timestamp()` (not `now()`, the transaction start) is the database clock; it is truncated to
 * the millisecond so that every stored time is a whole number of epoch ms at the boundary.
 */
import type { PgNames } from './names.js';

/** The columns of `step_events` an insert fills, in this order. */
export const EVENT_COLUMNS = '(step_id, ts, kind, pod_id, attempt, detail)';

/** The statement's clock: the bound test `now`, else the database clock to the millisecond. */
export function clockCte(param = '$1'): string {
  return `clock AS (SELECT coalesce(timestamptz 'epoch' + ${param}::float8 * interval '1 millisecond', date_trunc('milliseconds', clock_timestamp())) AS now)`;
}

/** A timestamptz expression as epoch milliseconds. */
export function ms(expr: string): string {
  return `(extract(epoch FROM ${expr}) * 1000)::float8`;
}

/** `status='up'` and `now − last_heartbeat_ts < threshold` (DESIGN §2), for pod alias `p`. */
export function live(p: string, now: string, thresholdParam: string): string {
  return `(${p}.status = 'up' AND ${now} - ${p}.last_heartbeat_ts < ${thresholdParam}::float8 * interval '1 millisecond')`;
}

/**
 * `now + min(base·2^(n−1), max)·U[0.5,1]` for the n-th retry, where `n − 1` is the row's retry_count
 * before the failure. Rounded up to a whole millisecond, which keeps it within [d/2, d].
 */
export function backoff(now: string, retryCountBefore: string, baseParam: string, maxParam: string): string {
  return `${now} + ceil(least(${baseParam}::float8 * power(2::float8, ${retryCountBefore}), ${maxParam}::float8) * (0.5 + random() * 0.5)) * interval '1 millisecond'`;
}

/** A `step_tracker` row as `rows.ts` reads it, for alias `s`. */
export function stepColumns(s: string): string {
  return [
    `${s}.step_id`,
    `${s}.type`,
    `${s}.args`,
    `${s}.metadata`,
    `${s}.priority`,
    `${s}.status`,
    `${s}.claimed_by`,
    `${s}.claim_token`,
    `${s}.attempt`,
    `${s}.retry_count`,
    `${s}.max_retries`,
    `${s}.release_count`,
    `${ms(`${s}.run_after`)} AS run_after_ms`,
    `${s}.timeout_ms`,
    `${s}.idempotency_key`,
    `${s}.last_error`,
    `${s}.result`,
    `${s}.progress`,
    `${ms(`${s}.created_ts`)} AS created_ms`,
    `${ms(`${s}.last_update_ts`)} AS last_update_ms`,
  ].join(', ');
}

/** A `pod_health` row as `rows.ts` reads it, with liveness judged at `now`. */
export function podColumns(p: string, now: string, thresholdParam: string): string {
  return [
    `${p}.pod_id`,
    `${p}.name`,
    `${ms(`${p}.birth_ts`)} AS birth_ms`,
    `${ms(`${p}.last_heartbeat_ts`)} AS heartbeat_ms`,
    `${p}.status`,
    `${p}.meta`,
    `${live(p, now, thresholdParam)} AS live`,
  ].join(', ');
}

/** Wakes idle pods (LISTEN in watch.ts) when `condition` holds; delivered only if the statement commits. */
export function wakeCte(n: PgNames, condition: string): string {
  return `wake AS (SELECT pg_notify(${n.channelLiteral}, '') WHERE ${condition})`;
}
