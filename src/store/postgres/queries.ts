/**
 * The statements of a step's life (submit, claim, the fenced writes, replay) and its reads, one
 * function of the table names per Store method; pods, leadership, recovery and housekeeping are in
 * queries.maintenance.ts, the DDL in migrations.ts. Owns SQL text only: no pool, no values, no row
 * mapping. Each statement is one round trip and one implicit transaction: data-modifying CTEs write
 * the row change and its `step_events` row together, so no statement needs BEGIN…COMMIT.
 *
 * Conventions: `$1` is the statement clock (fragments.ts); times leave as epoch ms (`*_ms` float8
 * columns); identifiers were validated and quoted (names.ts), values are always bound. Fenced writes
 * lock their target row first (`FOR UPDATE`), so the outcome is decided on the row version that is
 * then written, even when another writer committed in between.
 */
import { backoff, cascadeFailCtes, claimedColumns, clockCte, EVENT_COLUMNS, gateOpen, gateOpenCte, ms, stepColumns, wakeCte } from './fragments.js';
import type { PgNames } from './names.js';

/**
 * The `stale_write_rejected` event of a fenced write that matched nothing: the writer's pod and
 * attempt, and the row's current status, holder and attempt (nulls when the row is gone).
 * Expects `$2` step id, `$3` writer pod, `$4` writer attempt, and the `clock` CTE.
 */
function staleWriteCtes(n: PgNames, writeExpr: string, appliedCte: string): string {
  return `cur AS (SELECT status, claimed_by, attempt FROM ${n.stepTracker} WHERE step_id = $2::text),
  stale AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT $2::text, c.now, 'stale_write_rejected', $3::text, $4::int,
           jsonb_build_object('write', ${writeExpr}, 'status', r.status, 'claimed_by', r.claimed_by, 'attempt', r.attempt)
    FROM clock c LEFT JOIN cur r ON true
    WHERE NOT EXISTS (SELECT 1 FROM ${appliedCte})
  )`;
}

/**
 * Batch submit (one item is a batch of one): `$1` now, `$2…$11` parallel arrays (step_id, type,
 * args, metadata, priority, max_retries, timeout_ms, idempotency_key, delay_ms, deadline ms or null). Items whose
 * `(type, idempotency_key)` exists are not inserted; if any of those has different args nothing is
 * inserted (the caller throws ConflictError). A key committed by another writer after this
 * statement's snapshot fails the unique index (23505) and the caller runs the statement again.
 */
export function stepSubmitSql(n: PgNames): string {
  return `WITH ${clockCte()},
  input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int4[], $8::int8[], $9::text[], $10::float8[], $11::float8[])
      WITH ORDINALITY AS i(step_id, type, args, metadata, priority, max_retries, timeout_ms, idempotency_key, delay_ms, deadline_ms, ord)
  ),
  existing AS (
    SELECT i.ord, s.step_id, s.args = i.args::jsonb AS same_args
    FROM input i JOIN ${n.stepTracker} s ON s.type = i.type AND s.idempotency_key = i.idempotency_key
  ),
  ins AS (
    INSERT INTO ${n.stepTracker} AS s (step_id, type, args, metadata, priority, status, attempt, retry_count, max_retries,
                                       release_count, run_after, timeout_ms, idempotency_key, created_ts, last_update_ts, deadline)
    SELECT i.step_id, i.type, i.args::jsonb, i.metadata::jsonb, i.priority, 'pending', 0, 0, i.max_retries,
           0, c.now + i.delay_ms * interval '1 millisecond', i.timeout_ms, i.idempotency_key, c.now, c.now,
           timestamptz 'epoch' + i.deadline_ms * interval '1 millisecond'
    FROM input i CROSS JOIN clock c
    WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.ord = i.ord)
      AND NOT EXISTS (SELECT 1 FROM existing e WHERE NOT e.same_args)
    ORDER BY i.ord
    RETURNING s.step_id, s.priority, s.max_retries, s.created_ts, s.deadline
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT step_id, created_ts, 'submitted', NULL, 0,
           jsonb_build_object('priority', priority, 'max_retries', max_retries) 
             || CASE WHEN deadline IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('deadline', ${ms('deadline')}) END
    FROM ins ORDER BY step_id
  ),
  ${wakeCte(n, 'EXISTS (SELECT 1 FROM ins)')}
  SELECT i.ord::int AS ord, e.step_id AS existing_id, e.same_args,
         (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM wake)::int AS woke
  FROM input i LEFT JOIN existing e ON e.ord = i.ord
  ORDER BY i.ord`;
}

/**
 * Claim: `$1` now, `$2` pod, `$3` types, `$4` limit. The pod row is share-locked while up, so a
 * concurrent mark-down either waits for this claim or makes it claim nothing; `pod_up` is false when
 * the pod is missing or down. SKIP LOCKED lets concurrent claimers take disjoint steps; MATERIALIZED
 * keeps the planner from re-running the LIMIT subquery.
 *
 * The claim commits asynchronously (`synchronous_commit = off` for its own transaction only): it
 * does not wait for the WAL flush, which was the longest wait on a pod's path from submit to
 * handler. Losing a claim is harmless, so nothing needs it durable: a server crash can forget only
 * claims of the last few hundred ms (a claim with the row and its `claimed` event, never half), which
 * puts the steps back to pending; their handlers may already run, but the fence rejects their writes
 * (`stale_write_rejected`) and the steps run again, as at-least-once allows (such a forgotten start
 * is not counted against max_retries: only a database crash can cause one). Every outcome stays
 * durable: a complete, fail or release commits synchronously, and its WAL flush carries the claim
 * before it. Measured with `npm run bench` (one pod at P=10, 4,000 no-op steps, median of 4):
 * 628 → 787 steps/s; pickup latency p99 6.4 → 4.8 ms.
 *
 * The first n due steps are the first n of two short lists: steps due since their creation, in
 * claim order straight from st_ready_deadline_ix, and delayed steps now due, found by run_after in
 * st_delayed_ix (migration 2 says why) and then sorted. The due ids are read without ORDER BY (given
 * one, the planner walks st_pending_ix in claim order past every delayed step, since it cannot know
 * that almost none is due) and fetched by primary key (joined, it guesses a third of the delayed
 * steps are due and scans the table). Each list locks at most n rows; the few locked but not picked are
 * unlocked at commit, and meanwhile other claimers skip them as SKIP LOCKED allows.
 *
 * Sorting the due delayed steps is cheap while they are few, but a burst that falls due together (a
 * bulk submit with one delay, a retry backlog after an outage) made each claim sort all of them:
 * 20,000 due steps cut one pod from 3,600 to 1,170 steps/s. So the claim first counts up to
 * `DUE_SORT_MAX` + 1 due delayed steps (a short range scan of st_delayed_ix); past that, the second
 * list comes instead from st_delayed_order_ix (migration 7) walked in claim order, stopping at the
 * first n due (3,730 steps/s on the same burst). Each branch is gated by the count as a one-time
 * filter, so only one runs; both give the same steps, in the same order.
 */
export function stepClaimSql(n: PgNames, listLimit: number): string {
  return claimSql(n, '$4::int8', String(listLimit), '');
}

/**
 * The LIMIT of each list of a claim of `limit` steps: the next power of two (0 for 0). A constant,
 * because a generic plan knows no parameter's value: given `LIMIT $4` it guessed a tenth of each
 * list and priced itself a hundred times above the plan made for n, so PostgreSQL planned every
 * claim afresh (about 1 ms of the server's CPU beside a million rows), and a forced generic plan
 * passed jit_above_cost and was JIT-compiled at every execution (about 60 ms). With the LIMIT in the
 * text the generic plan is the plan made for n, and the claim's session runs it (connection.ts).
 * Powers of two keep the texts to a dozen, each list locking at most twice the rows asked for;
 * `picked` still takes exactly n.
 */
export function claimListLimit(limit: number): number {
  return limit <= 0 ? 0 : 2 ** Math.ceil(Math.log2(limit));
}

/**
 * The claim of one flow-limited type, run in the driver's transaction right after it took the type's
 * advisory lock (`flowLockSql`), so no other claim of the type runs between this statement's count and
 * its commit (under READ COMMITTED each statement reads a fresh snapshot, so the count sees every
 * earlier claim of the type). `$1`…`$4` as the claim (`$3` holds the one type), `$5` concurrency, `$6`
 * rate max, `$7` rate interval ms (nulls: no such limit). The allowance is computed inside and caps
 * every LIMIT; a step whose last start is still inside the rate window is not taken (flow.ts says why).
 */
export function stepClaimLimitedSql(n: PgNames): string {
  const window = `((SELECT now FROM clock) - $7::float8 * interval '1 millisecond')`;
  const allow = `(SELECT greatest(0, least($4::int8,
        coalesce($5::int8 - (SELECT count(*) FROM ${n.stepTracker} f WHERE f.type = ($3::text[])[1] AND f.status = 'claimed'), $4::int8),
        coalesce($6::int8 - (SELECT count(*) FROM ${n.stepTracker} f WHERE f.type = ($3::text[])[1] AND f.claimed_ts > ${window}), $4::int8))))`;
  return claimSql(n, allow, allow, `AND ($7::float8 IS NULL OR s.claimed_ts IS NULL OR s.claimed_ts <= ${window})`);
}

/** Serializes the claims of flow-limited types (`$1` the types' lock keys, taken in sorted order so two claimers never deadlock). */
export function flowLockSql(): string {
  return `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))::int AS locked FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) keys`;
}

/** Above this many due delayed steps, a claim walks them in claim order instead of sorting them all (migration 7). */
const DUE_SORT_MAX = 1_000;

/** `limit` caps the claim, `listLimit` each of its three lists (at least `limit`). */
function claimSql(n: PgNames, limit: string, listLimit: string, extra: string): string {
  return `WITH ${clockCte()},
  pod AS (SELECT pod_id FROM ${n.podHealth} WHERE pod_id = $2::text AND status = 'up' FOR SHARE),
  ready AS MATERIALIZED (
    SELECT s.step_id, s.priority, s.deadline, s.created_ts FROM ${n.stepTracker} s CROSS JOIN clock c
    WHERE s.status = 'pending' AND s.run_after <= s.created_ts
      AND s.type = ANY($3::text[]) AND s.run_after <= c.now AND EXISTS (SELECT 1 FROM pod) ${extra}
      AND ${gateOpen(n, 's')}
    ORDER BY s.priority DESC, s.deadline, s.created_ts, s.step_id
    LIMIT ${listLimit}
    FOR UPDATE OF s SKIP LOCKED
  ),
  many_due AS (
    SELECT count(*) > ${DUE_SORT_MAX} AS yes FROM (
      SELECT 1 FROM ${n.stepTracker} d
      WHERE d.status = 'pending' AND d.run_after > d.created_ts AND d.run_after <= (SELECT now FROM clock)
      LIMIT ${DUE_SORT_MAX + 1}) x
  ),
  due AS MATERIALIZED (
    SELECT s.step_id, s.priority, s.deadline, s.created_ts FROM ${n.stepTracker} s
    WHERE NOT (SELECT yes FROM many_due) AND s.step_id = ANY (ARRAY(
        SELECT d.step_id FROM ${n.stepTracker} d
        WHERE d.status = 'pending' AND d.run_after > d.created_ts
          AND d.run_after <= (SELECT now FROM clock) AND d.type = ANY($3::text[]) AND EXISTS (SELECT 1 FROM pod)))
      AND s.status = 'pending' AND ${gateOpen(n, 's')} ${extra}
    ORDER BY s.priority DESC, s.deadline, s.created_ts, s.step_id
    LIMIT ${listLimit}
    FOR UPDATE OF s SKIP LOCKED
  ),
  due_many AS MATERIALIZED (
    SELECT s.step_id, s.priority, s.deadline, s.created_ts FROM ${n.stepTracker} s CROSS JOIN clock c
    WHERE (SELECT yes FROM many_due) AND s.status = 'pending' AND s.run_after > s.created_ts
      AND s.type = ANY($3::text[]) AND s.run_after <= c.now AND EXISTS (SELECT 1 FROM pod) ${extra}
      AND ${gateOpen(n, 's')}
    ORDER BY s.priority DESC, s.deadline, s.created_ts, s.step_id
    LIMIT ${listLimit}
    FOR UPDATE OF s SKIP LOCKED
  ),
  picked AS (
    SELECT u.step_id FROM (SELECT * FROM ready UNION ALL SELECT * FROM due UNION ALL SELECT * FROM due_many) u
    ORDER BY u.priority DESC, u.deadline, u.created_ts, u.step_id
    LIMIT ${limit}
  ),
  claimed AS (
    UPDATE ${n.stepTracker} s SET status = 'claimed', claimed_by = $2::text, attempt = s.attempt + 1, last_update_ts = c.now, claimed_ts = c.now
    FROM picked p CROSS JOIN clock c
    WHERE s.step_id = p.step_id AND s.status = 'pending'
    RETURNING ${claimedColumns('s')}
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, c.now, 'claimed', $2::text, d.attempt, '{}'::jsonb
    FROM claimed d CROSS JOIN clock c
    ORDER BY d.priority DESC, d.deadline_ms NULLS LAST, d.created_ms, d.step_id
  )
  SELECT (SELECT count(*) FROM pod)::int AS pod_up, d.*
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS one LEFT JOIN claimed d ON true`;
}

/**
 * Fenced completes of several claims in one statement (the driver coalesces completions that arrive
 * while the previous batch commits): parallel arrays `$1` now (null: the database clock), `$2` step,
 * `$3` pod, `$4` attempt, `$5` result JSON, one element per item, no step twice. Each item reads its
 * own clock once. One row per item in input order: the step columns when applied; nulls when the
 * fence matched nothing, in which case its `stale_write_rejected` event was written instead. The
 * result set carries no timestamptz: `pg` would build a Date for each row only to be thrown away.
 * With `rows` false (`stepCompleteMany`) each row holds only `step_id`: reading back and parsing the
 * completed rows was a tenth of a pod's CPU, for nothing the runtime uses.
 */
export function stepCompleteBatchSql(n: PgNames, rows: boolean): string {
  return `WITH input AS MATERIALIZED (
    SELECT i.step_id, i.pod_id, i.attempt, i.result, i.ord,
           coalesce(timestamptz 'epoch' + i.now_ms * interval '1 millisecond', date_trunc('milliseconds', clock_timestamp())) AS now
    FROM unnest($1::float8[], $2::text[], $3::text[], $4::int4[], $5::text[]) WITH ORDINALITY AS i(now_ms, step_id, pod_id, attempt, result, ord)
  ),
  done AS (
    UPDATE ${n.stepTracker} s SET status = 'completed', result = i.result::jsonb, last_update_ts = i.now
    FROM input i
    WHERE s.step_id = i.step_id AND s.claimed_by = i.pod_id AND s.attempt = i.attempt AND s.status = 'claimed'
    RETURNING ${rows ? stepColumns('s') : 's.step_id, s.attempt'}, i.ord AS item, i.pod_id AS writer
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, i.now, 'completed', d.writer, d.attempt, '{}'::jsonb FROM done d JOIN input i ON i.ord = d.item ORDER BY d.item
  ),
  ${gateOpenCte(n, 'done')},
  ${wakeCte(n, 'EXISTS (SELECT 1 FROM gates WHERE waiting_on = 0)')},
  stale AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT i.step_id, i.now, 'stale_write_rejected', i.pod_id, i.attempt,
           jsonb_build_object('write', 'complete', 'status', r.status, 'claimed_by', r.claimed_by, 'attempt', r.attempt)
    FROM input i LEFT JOIN ${n.stepTracker} r ON r.step_id = i.step_id
    WHERE NOT EXISTS (SELECT 1 FROM done d WHERE d.item = i.ord)
    ORDER BY i.ord
  )
  SELECT ${rows ? 'd.*' : 'd.step_id'} FROM input i LEFT JOIN done d ON d.item = i.ord ORDER BY i.ord`;
}

/** Fenced complete: `$1` now, `$2` step, `$3` pod, `$4` attempt, `$5` result JSON. */
export function stepCompleteSql(n: PgNames): string {
  return `WITH ${clockCte()},
  done AS (
    UPDATE ${n.stepTracker} s SET status = 'completed', result = $5::jsonb, last_update_ts = c.now
    FROM clock c
    WHERE s.step_id = $2::text AND s.claimed_by = $3::text AND s.attempt = $4::int AND s.status = 'claimed'
    RETURNING ${stepColumns('s')}
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, c.now, 'completed', $3::text, d.attempt, '{}'::jsonb FROM done d CROSS JOIN clock c
  ),
  ${gateOpenCte(n, 'done')},
  ${wakeCte(n, 'EXISTS (SELECT 1 FROM gates WHERE waiting_on = 0)')},
  ${staleWriteCtes(n, "'complete'", 'done')}
  SELECT d.* FROM done d`;
}

/**
 * Fenced fail and release, one statement because a release past the cap is a failure:
 * `$1` now, `$2` step, `$3` pod, `$4` attempt, `$5` error, `$6` is a release, `$7` maxReleases,
 * `$8` retryable, `$9` reason, `$10` baseDelayMs, `$11` maxDelayMs. The outcome is decided on the
 * locked row: released (under the cap), retried (retries left and retryable) or dead_lettered.
 */
export function stepFailSql(n: PgNames): string {
  return `WITH RECURSIVE ${clockCte()},
  target AS MATERIALIZED (
    SELECT s.step_id,
           CASE WHEN $6::bool AND s.release_count < $7::int THEN 'released'
                WHEN $8::bool AND s.retry_count < s.max_retries THEN 'retried'
                ELSE 'dead_lettered' END AS outcome
    FROM ${n.stepTracker} s
    WHERE s.step_id = $2::text AND s.claimed_by = $3::text AND s.attempt = $4::int AND s.status = 'claimed'
    FOR UPDATE
  ),
  done AS (
    UPDATE ${n.stepTracker} s SET
      status = CASE t.outcome WHEN 'dead_lettered' THEN 'failed' ELSE 'pending' END,
      claimed_by = CASE t.outcome WHEN 'dead_lettered' THEN s.claimed_by ELSE NULL END,
      retry_count = s.retry_count + CASE t.outcome WHEN 'retried' THEN 1 ELSE 0 END,
      release_count = s.release_count + CASE t.outcome WHEN 'released' THEN 1 ELSE 0 END,
      run_after = CASE t.outcome WHEN 'released' THEN c.now
                                 WHEN 'retried' THEN ${backoff('c.now', 's.retry_count', '$10', '$11')}
                                 ELSE s.run_after END,
      last_error = CASE t.outcome WHEN 'released' THEN s.last_error ELSE $5::text END,
      last_update_ts = c.now
    FROM target t CROSS JOIN clock c
    WHERE s.step_id = t.step_id
    RETURNING ${stepColumns('s')}, t.outcome
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, c.now, d.outcome, $3::text, d.attempt,
           CASE d.outcome
             WHEN 'released' THEN jsonb_build_object('release_count', d.release_count)
             WHEN 'retried' THEN jsonb_build_object('reason', $9::text, 'error', $5::text, 'retry_count', d.retry_count, 'run_after', d.run_after_ms)
             ELSE jsonb_build_object('reason', CASE WHEN $8::bool THEN $9::text ELSE 'non_retryable' END, 'error', $5::text, 'retry_count', d.retry_count)
           END
    FROM done d CROSS JOIN clock c
  ),
  ${cascadeFailCtes(n, 'done', '$3::text')},
  ${staleWriteCtes(n, "CASE WHEN $6::bool THEN 'release' ELSE 'fail' END", 'done')},
  ${wakeCte(n, "EXISTS (SELECT 1 FROM done WHERE outcome <> 'dead_lettered')")}
  SELECT d.*, (SELECT count(*) FROM wake)::int AS woke FROM done d`;
}

/** One row: `$1` step. */
export function stepGetSql(n: PgNames): string {
  return `SELECT ${stepColumns('s')} FROM ${n.stepTracker} s WHERE s.step_id = $1::text`;
}

/**
 * Replay from the DLQ: `$1` now, `$2` step. Always one row: `found_status` is null for an unknown
 * step; the step columns are null unless the row was `failed` and is now pending.
 */
export function stepReplaySql(n: PgNames): string {
  return `WITH RECURSIVE ${clockCte()},
  cur AS (SELECT status FROM ${n.stepTracker} WHERE step_id = $2::text),
  target AS MATERIALIZED (
    SELECT step_id, retry_count AS old_retry_count FROM ${n.stepTracker} WHERE step_id = $2::text AND status = 'failed' FOR UPDATE
  ),
  done AS (
    UPDATE ${n.stepTracker} s SET status = 'pending', retry_count = 0, run_after = c.now, claimed_by = NULL, last_update_ts = c.now
    FROM target t CROSS JOIN clock c
    WHERE s.step_id = t.step_id
    RETURNING ${stepColumns('s')}, t.old_retry_count
  ),
  ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT d.step_id, c.now, 'replayed', NULL, d.attempt, jsonb_build_object('old_retry_count', d.old_retry_count)
    FROM done d CROSS JOIN clock c
  ),
  wf_desc (step_id) AS (
    SELECT d.step_id FROM ${n.stepDependencies} d WHERE d.parent_step_id = $2::text AND EXISTS (SELECT 1 FROM target)
    UNION SELECT d.step_id FROM ${n.stepDependencies} d JOIN wf_desc r ON d.parent_step_id = r.step_id
  ),
  wf_target AS MATERIALIZED (
    SELECT s.step_id, s.retry_count AS old_retry_count FROM ${n.stepTracker} s
    WHERE s.step_id IN (SELECT step_id FROM wf_desc) AND s.status = 'failed' AND s.waiting_on > 0
    FOR UPDATE
  ),
  wf_revived AS (
    UPDATE ${n.stepTracker} s SET status = 'pending', retry_count = 0, run_after = c.now, claimed_by = NULL, last_update_ts = c.now
    FROM wf_target t CROSS JOIN clock c
    WHERE s.step_id = t.step_id
    RETURNING s.step_id, s.attempt, t.old_retry_count
  ),
  wf_revived_ev AS (
    INSERT INTO ${n.stepEvents} ${EVENT_COLUMNS}
    SELECT v.step_id, c.now, 'replayed', NULL, v.attempt,
           jsonb_build_object('reason', 'parent_replayed', 'parent_step_id', $2::text, 'old_retry_count', v.old_retry_count)
    FROM wf_revived v CROSS JOIN clock c ORDER BY v.step_id
  ),
  ${wakeCte(n, 'EXISTS (SELECT 1 FROM done)')}
  SELECT r.status AS found_status, d.*, (SELECT count(*) FROM wake)::int AS woke
  FROM (SELECT 1) AS one LEFT JOIN cur r ON true LEFT JOIN done d ON true`;
}

/** Audit events in order: `$1` step or null, `$2` after event id or null, `$3` limit or null (all). */
export function eventListSql(n: PgNames): string {
  return `SELECT e.event_id, e.step_id, ${ms('e.ts')} AS ts_ms, e.kind, e.pod_id, e.attempt, e.detail
  FROM ${n.stepEvents} e
  WHERE ($1::text IS NULL OR e.step_id = $1::text) AND e.event_id > coalesce($2::int8, 0)
  ORDER BY e.event_id
  LIMIT $3::int8`;
}
