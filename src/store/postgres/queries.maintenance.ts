/**
 * The statements of pods, leadership, the recovery sweep, queue statistics, the DLQ page, retention
 * and the LISTEN client's wake-up read: one function of the table names per Store method. Owns SQL
 * text only (conventions in queries.ts and fragments.ts): no pool, no values, no row mapping.
 */
import { backoff, cascadeFailCtes, clockCte, EVENT_COLUMNS, gateOpen, live, ms, podColumns, stepColumns, wakeCte } from './fragments.js';
import type { PgNames } from './names.js';

/**
 * Register or revive: `$1` now, `$2` pod, `$3` name, `$4` meta, `$5` dead-pod threshold ms, `$6` the
 * previous incarnation or null, retired in this same statement (only while up, same name, not `$2`).
 */
export function podRegisterSql(n: PgNames): string {
  return `WITH ${clockCte()},
  retire AS (
    UPDATE ${n.podHealth} SET status = 'down'
    WHERE $6::text IS NOT NULL AND pod_id = $6::text AND name = $3::text AND status = 'up' AND pod_id <> $2::text
  )
  INSERT INTO ${n.podHealth} AS p (pod_id, name, birth_ts, last_heartbeat_ts, status, meta)
  SELECT $2::text, $3::text, c.now, c.now, 'up', $4::jsonb FROM clock c
  ON CONFLICT (pod_id) DO UPDATE SET name = EXCLUDED.name, birth_ts = EXCLUDED.birth_ts,
    last_heartbeat_ts = EXCLUDED.last_heartbeat_ts, status = 'up', meta = EXCLUDED.meta
  RETURNING ${podColumns('p', '(SELECT now FROM clock)', '$5')}`;
}

/** Heartbeat while up: `$1` now, `$2` pod, `$3` meta or null (keep). Always one row: `ok`, `ts_ms`. */
export function podHeartbeatSql(n: PgNames): string {
  return `WITH ${clockCte()},
  beat AS (
    UPDATE ${n.podHealth} p SET last_heartbeat_ts = c.now, meta = coalesce($3::jsonb, p.meta)
    FROM clock c
    WHERE p.pod_id = $2::text AND p.status = 'up'
    RETURNING p.pod_id
  )
  SELECT ${ms('c.now')} AS ts_ms, EXISTS (SELECT 1 FROM beat) AS ok FROM clock c`;
}

/** `$1` pod. */
export function podMarkDownSql(n: PgNames): string {
  return `UPDATE ${n.podHealth} SET status = 'down' WHERE pod_id = $1::text`;
}

/** Every pod: `$1` now, `$2` dead-pod threshold ms. */
export function podListSql(n: PgNames): string {
  return `WITH ${clockCte()}
  SELECT ${podColumns('p', 'c.now', '$2')} FROM ${n.podHealth} p CROSS JOIN clock c
  ORDER BY p.birth_ts, p.pod_id`;
}

/** Live pods, oldest first, and the time they were judged: `$1` now, `$2` threshold. At least one row. */
export function leaderGetSql(n: PgNames): string {
  return `WITH ${clockCte()}
  SELECT ${ms('c.now')} AS checked_ms, ${podColumns('p', 'c.now', '$2')}
  FROM clock c LEFT JOIN ${n.podHealth} p ON ${live('p', 'c.now', '$2')}
  ORDER BY p.birth_ts, p.pod_id`;
}

/** Claimed steps whose holder is not live at `c.now` (no row, down, or silent), for alias `s`. */
function orphanCondition(n: PgNames, thresholdParam: string): string {
  return `s.status = 'claimed' AND NOT EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.pod_id = s.claimed_by AND ${live('p', 'c.now', thresholdParam)})`;
}

const SWEEP_OUTCOME = `CASE WHEN s.retry_count < s.max_retries THEN 'recovered' ELSE 'dead_lettered' END`;

/**
 * The recovery sweep: `$1` now, `$2` sweeper pod or null, `$3` threshold, `$4` base, `$5` max delay.
 * Orphans are locked SKIP LOCKED, so two sweepers split them instead of waiting on each other, and
 * the update re-checks `status = 'claimed'`; pods are marked down by a conditional update that a
 * second sweeper re-evaluates after the first commits. One row: JSON lists `steps` ([id, outcome])
 * and `pods`.
 */
export function recoverySweepSql(n: PgNames): string {
  return `WITH RECURSIVE ${clockCte()},
  orphan AS MATERIALIZED (
    SELECT s.step_id, ${SWEEP_OUTCOME} AS outcome
    FROM ${n.stepTracker} s CROSS JOIN clock c
    WHERE ${orphanCondition(n, '$3')}
    ORDER BY s.step_id
    FOR UPDATE OF s SKIP LOCKED
  ),
  swept AS (
    UPDATE ${n.stepTracker} s SET
      status = CASE o.outcome WHEN 'recovered' THEN 'pending' ELSE 'failed' END,
      retry_count = s.retry_count + CASE o.outcome WHEN 'recovered' THEN 1 ELSE 0 END,
      run_after = CASE o.outcome WHEN 'recovered' THEN ${backoff('c.now', 's.retry_count', '$4', '$5')} ELSE s.run_after END,
      claimed_by = CASE o.outcome WHEN 'recovered' THEN NULL ELSE s.claimed_by END,
      last_error = 'claim held by dead pod ' || s.claimed_by,
      last_update_ts = c.now
    FROM orphan o CROSS JOIN clock c
    WHERE s.step_id = o.step_id AND s.status = 'claimed'
    RETURNING s.step_id, s.attempt, s.retry_count, s.last_error, ${ms('s.run_after')} AS run_after_ms, o.outcome
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT w.step_id, c.now, w.outcome, $2::text, w.attempt,
           jsonb_build_object('reason', 'pod_dead', 'error', w.last_error, 'retry_count', w.retry_count)
             || CASE w.outcome WHEN 'recovered' THEN jsonb_build_object('run_after', w.run_after_ms) ELSE '{}'::jsonb END
    FROM swept w CROSS JOIN clock c
    ORDER BY w.step_id
  ),
  ${cascadeFailCtes(n, 'swept', '$2::text')},
  downed AS (
    UPDATE ${n.podHealth} p SET status = 'down'
    FROM clock c
    WHERE p.status = 'up' AND NOT ${live('p', 'c.now', '$3')}
    RETURNING p.pod_id
  ),
  ${wakeCte(n, "EXISTS (SELECT 1 FROM swept WHERE outcome = 'recovered')")}
  SELECT coalesce((SELECT json_agg(json_build_array(step_id, outcome) ORDER BY step_id) FROM swept), '[]'::json) AS steps,
         coalesce((SELECT json_agg(pod_id ORDER BY pod_id) FROM downed), '[]'::json) AS pods,
         (SELECT count(*) FROM wake)::int AS woke`;
}

/** What the sweep would do, writing nothing: `$1` now, `$2` threshold. Same row shape as the sweep. */
export function recoveryPreviewSql(n: PgNames): string {
  return `WITH ${clockCte()}
  SELECT coalesce((SELECT json_agg(json_build_array(s.step_id, ${SWEEP_OUTCOME}) ORDER BY s.step_id)
                   FROM ${n.stepTracker} s CROSS JOIN clock c WHERE ${orphanCondition(n, '$2')}), '[]'::json) AS steps,
         coalesce((SELECT json_agg(p.pod_id ORDER BY p.pod_id)
                   FROM ${n.podHealth} p CROSS JOIN clock c WHERE p.status = 'up' AND NOT ${live('p', 'c.now', '$2')}), '[]'::json) AS pods`;
}

/** Counts for /admin/queue in one read: `$1` now, `$2` threshold. One row of JSON aggregates. */
export function queueStatsSql(n: PgNames): string {
  return `WITH ${clockCte()},
  live_pods AS (SELECT p.pod_id, p.birth_ts, p.meta FROM ${n.podHealth} p CROSS JOIN clock c WHERE ${live('p', 'c.now', '$2')})
  SELECT
    coalesce((SELECT json_object_agg(status, k) FROM (SELECT status, count(*) AS k FROM ${n.stepTracker} GROUP BY status) x), '{}'::json) AS by_status,
    coalesce((SELECT json_object_agg(priority, k) FROM (SELECT priority, count(*) AS k FROM ${n.stepTracker} WHERE status = 'pending' GROUP BY priority) x), '{}'::json) AS by_priority,
    coalesce((SELECT json_object_agg(type, k) FROM (SELECT type, count(*) AS k FROM ${n.stepTracker} WHERE status IN ('pending', 'claimed') GROUP BY type) x), '{}'::json) AS by_type,
    coalesce((SELECT json_agg(json_build_object('podId', l.pod_id, 'claimed', coalesce(h.k, 0), 'capacity', l.meta -> 'capacity') ORDER BY l.birth_ts, l.pod_id)
              FROM live_pods l
              LEFT JOIN (SELECT claimed_by, count(*) AS k FROM ${n.stepTracker} WHERE status = 'claimed' GROUP BY claimed_by) h ON h.claimed_by = l.pod_id), '[]'::json) AS pods,
    (SELECT pod_id FROM live_pods ORDER BY birth_ts, pod_id LIMIT 1) AS leader`;
}

/** A page of the DLQ, newest first, and the total: `$1` limit, `$2` offset. At least one row. */
export function dlqListSql(n: PgNames): string {
  return `WITH page AS (
    SELECT ${stepColumns('s')}, s.last_update_ts AS sort_ts FROM ${n.stepTracker} s
    WHERE s.status = 'failed'
    ORDER BY s.last_update_ts DESC, s.step_id DESC
    LIMIT $1::int8 OFFSET $2::int8
  )
  SELECT t.total, d.*
  FROM (SELECT count(*)::float8 AS total FROM ${n.stepTracker} WHERE status = 'failed') t LEFT JOIN page d ON true
  ORDER BY d.sort_ts DESC, d.step_id DESC`;
}

/**
 * One chunk of retention: `$1` now, `$2` olderThanMs, `$3` at most this many steps. Terminal steps
 * are picked oldest first from st_expired_ix, then deleted by primary key and their events by
 * se_step_ix: `= ANY (ARRAY(…))` keeps the planner from hash-joining the chunk against every expired
 * step and every event (a sequential scan of step_events per chunk, measured with 50,000 expired
 * steps by `npm run bench -- --scale`: 156 ms a chunk, growing with the table).
 *
 * Terminal steps
 * last updated before the cutoff (oldest first, skipping rows another writer holds) and their
 * events; `down` pods silent since before the cutoff that hold no claim. One row of counts and the
 * clock, so the caller can run the next chunk against the same cutoff.
 */
export function retentionPruneSql(n: PgNames): string {
  return `WITH ${clockCte()},
  cutoff AS (SELECT c.now - $2::float8 * interval '1 millisecond' AS ts FROM clock c),
  doomed AS MATERIALIZED (
    SELECT s.step_id FROM ${n.stepTracker} s CROSS JOIN cutoff k
    WHERE s.status IN ('completed', 'failed', 'cancelled') AND s.last_update_ts < k.ts
    ORDER BY s.last_update_ts
    LIMIT $3::int8
    FOR UPDATE OF s SKIP LOCKED
  ),
  old_steps AS (
    DELETE FROM ${n.stepTracker} s
    WHERE s.step_id = ANY (ARRAY(SELECT step_id FROM doomed)) AND s.status IN ('completed', 'failed', 'cancelled')
    RETURNING s.step_id
  ),
  old_events AS (DELETE FROM ${n.stepEvents} e WHERE e.step_id = ANY (ARRAY(SELECT step_id FROM old_steps)) RETURNING e.event_id),
  old_edges AS (DELETE FROM ${n.stepDependencies} d WHERE d.step_id = ANY (ARRAY(SELECT step_id FROM old_steps))),
  old_pods AS (
    DELETE FROM ${n.podHealth} p USING cutoff k
    WHERE p.status = 'down' AND p.last_heartbeat_ts < k.ts
      AND NOT EXISTS (SELECT 1 FROM ${n.stepTracker} s WHERE s.status = 'claimed' AND s.claimed_by = p.pod_id)
    RETURNING p.pod_id
  )
  SELECT (SELECT count(*) FROM old_steps)::int AS steps, (SELECT count(*) FROM old_events)::int AS events,
         (SELECT count(*) FROM old_pods)::int AS pods, ${ms('c.now')} AS now_ms
  FROM clock c`;
}

/** Fresh planner statistics for `step_tracker` (see `PostgresStore.refreshStatistics`). */
export function analyzeStepsSql(n: PgNames): string {
  return `ANALYZE ${n.stepTracker}`;
}

/**
 * For the LISTEN client: the database time and the earliest future `run_after` of a pending step
 * (null when none), so a backoff-delayed step that becomes due without a notification still wakes
 * the pod. Served by the partial index on pending `run_after`.
 */
export function nextWakeSql(n: PgNames): string {
  return `WITH ${clockCte('NULL')}
  SELECT ${ms('c.now')} AS now_ms,
         (SELECT ${ms('min(s.run_after)')} FROM ${n.stepTracker} s WHERE s.status = 'pending' AND s.run_after > c.now) AS next_ms
  FROM clock c`;
}

/**
 * Due pending steps per priority and the oldest `run_after` among them, with the clock it judged
 * by: `$1` now. One row: `now_ms`, `by_priority` (JSON `[priority, due, oldest_ms]`, highest first),
 * `past_deadline` (pending steps whose deadline has passed, due or not; st_deadline_ix).
 */
export function queueAgeSql(n: PgNames): string {
  return `WITH ${clockCte()}
  SELECT ${ms('c.now')} AS now_ms,
    coalesce((SELECT json_agg(json_build_array(x.priority, x.due, x.oldest_ms) ORDER BY x.priority DESC)
              FROM (SELECT s.priority, count(*)::int AS due, ${ms('min(s.run_after)')} AS oldest_ms
                    FROM ${n.stepTracker} s WHERE s.status = 'pending' AND s.run_after <= c.now AND ${gateOpen(n, 's')} GROUP BY s.priority) x), '[]'::json) AS by_priority,
    (SELECT count(*)::int FROM ${n.stepTracker} s WHERE s.status = 'pending' AND s.deadline < c.now) AS past_deadline
  FROM clock c`;
}
