/**
 * The statements of step control: an operator's cancel, a handler's fenced progress, and the
 * look-up by which a running pod learns of a cancel. Owns SQL text only (conventions as queries.ts:
 * `$1` the statement clock, values always bound, each statement one implicit transaction).
 */
import { clockCte, EVENT_COLUMNS, stepColumns } from './fragments.js';
import type { PgNames } from './names.js';

/**
 * `$1` now, `$2` step. The row is locked first, so the old status recorded in the event is the one
 * the update replaced. `claimed_by` and `attempt` are kept: the holder's fence then finds no
 * `claimed` row. One row: `found_status` (null: unknown step) and the updated row (nulls: terminal).
 */
export function stepCancelSql(n: PgNames): string {
  return `WITH ${clockCte()},
  cur AS MATERIALIZED (SELECT step_id, status, claimed_by FROM ${n.stepTracker} WHERE step_id = $2::text FOR UPDATE),
  done AS (
    UPDATE ${n.stepTracker} s SET status = 'cancelled', last_update_ts = c.now
    FROM cur t CROSS JOIN clock c
    WHERE s.step_id = t.step_id AND t.status IN ('pending', 'claimed')
    RETURNING ${stepColumns('s')}
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, c.now, 'cancelled', NULL, d.attempt,
           jsonb_build_object('previous_status', t.status, 'claimed_by', CASE WHEN t.status = 'claimed' THEN t.claimed_by END)
    FROM done d CROSS JOIN clock c CROSS JOIN cur t
  )
  SELECT t.status AS found_status, d.* FROM (SELECT 1) AS one LEFT JOIN cur t ON true LEFT JOIN done d ON true`;
}

/**
 * Fenced progress: `$1` now, `$2` step, `$3` pod, `$4` attempt, `$5` progress (jsonb). No event when
 * applied (progress is not a transition); `stale_write_rejected` otherwise. One row: `applied`, and
 * the row's status as this statement saw it.
 */
export function stepProgressSql(n: PgNames): string {
  return `WITH ${clockCte()},
  done AS (
    UPDATE ${n.stepTracker} s SET progress = $5::jsonb
    WHERE s.step_id = $2::text AND s.claimed_by = $3::text AND s.attempt = $4::int AND s.status = 'claimed'
    RETURNING s.step_id
  ),
  cur AS (SELECT status, claimed_by, attempt FROM ${n.stepTracker} WHERE step_id = $2::text),
  stale AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT $2::text, c.now, 'stale_write_rejected', $3::text, $4::int,
           jsonb_build_object('write', 'progress', 'status', r.status, 'claimed_by', r.claimed_by, 'attempt', r.attempt)
    FROM clock c LEFT JOIN cur r ON true
    WHERE NOT EXISTS (SELECT 1 FROM done)
  )
  SELECT EXISTS (SELECT 1 FROM done) AS applied, (SELECT status FROM cur) AS status`;
}

/** `$1` the pod's running step ids, `$2` the pod: those cancelled while it held them (primary-key probes). */
export function stepCancelledAmongSql(n: PgNames): string {
  return `SELECT step_id FROM ${n.stepTracker} WHERE step_id = ANY ($1::text[]) AND status = 'cancelled' AND claimed_by = $2::text`;
}
