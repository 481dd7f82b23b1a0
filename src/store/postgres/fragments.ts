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

/** A `step_tracker` row as `rows.ts` reads it, for alias `s`: the claim's columns, then the rest. */
export function stepColumns(s: string): string {
  return [
    claimedColumns(s),
    `${s}.metadata`,
    `${s}.status`,
    `${s}.claimed_by`,
    `${s}.claim_token`,
    `${s}.retry_count`,
    `${s}.max_retries`,
    `${s}.release_count`,
    `${ms(`${s}.run_after`)} AS run_after_ms`,
    `${s}.last_error`,
    `${s}.result`,
    `${s}.progress`,
    `${ms(`${s}.last_update_ts`)} AS last_update_ms`,
    `${s}.waiting_on`,
  ].join(', ');
}

/** The claim's columns of a `step_tracker` row (`CLAIMED_STEP_FIELDS`), for alias `s`. */
export function claimedColumns(s: string): string {
  return [
    `${s}.step_id`,
    `${s}.type`,
    `${s}.args`,
    `${s}.priority`,
    `${s}.attempt`,
    `${s}.timeout_ms`,
    `${s}.idempotency_key`,
    `${ms(`${s}.created_ts`)} AS created_ms`,
    `${s}.depends_on`,
    `${ms(`${s}.deadline`)} AS deadline_ms`,
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

/**
 * The claim's gate for alias `s`: no parent left to wait for. The counter is exact except when a
 * child's submit and its parent's completion commit at the same moment (the completion's snapshot
 * cannot see the new edge, so the counter stays one too high); the parents' statuses, read by the
 * claim's own snapshot, then decide, so a gate never stays shut behind completed parents.
 */
export function gateOpen(n: PgNames, s: string): string {
  // OFFSET 0 keeps the planner from turning the EXISTS into a hashed subplan, which would read every
  // edge and every parent row once per claim (a sequential scan of step_tracker); as written it is a
  // per-row probe of two primary keys, run only for a row whose counter is not 0.
  return `(${s}.waiting_on = 0 OR NOT EXISTS (SELECT 1 FROM ${n.stepDependencies} g JOIN ${n.stepTracker} gp ON gp.step_id = g.parent_step_id
    WHERE g.step_id = ${s}.step_id AND gp.status <> 'completed' OFFSET 0))`;
}

/**
 * Opens gates for the steps `source` (a CTE with `step_id`) completed: each child waits for as
 * many parents fewer as completed here. Named `gates`; needs nothing else.
 */
export function gateOpenCte(n: PgNames, source: string): string {
  return `gates AS (
    UPDATE ${n.stepTracker} c SET waiting_on = greatest(c.waiting_on - g.done, 0)
    FROM (SELECT d.step_id, count(*)::int AS done FROM ${n.stepDependencies} d JOIN ${source} x ON d.parent_step_id = x.step_id GROUP BY d.step_id) g
    WHERE c.step_id = g.step_id AND c.waiting_on > 0
    RETURNING c.waiting_on
  )`;
}

/**
 * The dead-letter cascade: every pending descendant of the rows of `source` (a CTE with `step_id`
 * and `outcome`) whose outcome is `dead_lettered` becomes failed, naming the dead-lettered ancestor,
 * with one `dead_lettered` event each written by `podExpr`. Needs `WITH RECURSIVE` and the `clock` CTE.
 */
export function cascadeFailCtes(n: PgNames, source: string, podExpr: string): string {
  return `wf_desc (step_id, root) AS (
    SELECT d.step_id, x.step_id FROM ${n.stepDependencies} d JOIN ${source} x ON d.parent_step_id = x.step_id WHERE x.outcome = 'dead_lettered'
    UNION SELECT d.step_id, r.root FROM ${n.stepDependencies} d JOIN wf_desc r ON d.parent_step_id = r.step_id
  ),
  wf_failed AS (
    UPDATE ${n.stepTracker} c SET status = 'failed', last_error = 'parent step ' || r.root || ' failed', last_update_ts = k.now
    FROM (SELECT step_id, min(root) AS root FROM wf_desc GROUP BY step_id) r CROSS JOIN clock k
    WHERE c.step_id = r.step_id AND c.status = 'pending'
    RETURNING c.step_id, c.attempt, c.retry_count, c.last_error, r.root
  ),
  wf_failed_ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT f.step_id, k.now, 'dead_lettered', ${podExpr}, f.attempt,
           jsonb_build_object('reason', 'parent_failed', 'parent_step_id', f.root, 'error', f.last_error, 'retry_count', f.retry_count)
    FROM wf_failed f CROSS JOIN clock k ORDER BY f.step_id
  )`;
}

/** Wakes idle pods (LISTEN in watch.ts) when `condition` holds; delivered only if the statement commits. */
export function wakeCte(n: PgNames, condition: string): string {
  return `wake AS (SELECT pg_notify(${n.channelLiteral}, '') WHERE ${condition})`;
}
