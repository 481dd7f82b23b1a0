/**
 * Every DML statement and pragma of the SQLite driver, one entry per statement, built from the
 * validated table names (DDL lives with its version in migrations.ts). Owns SQL text only: no
 * connection, no binding, no decisions; callers bind parameters by name (`@now`, `@podId`, …).
 *
 * Time is INTEGER epoch ms bound as `@now`, so a test clock and the host clock take the same path.
 * Liveness, backoff and fencing are judged inside the statements so each write is a single
 * conditional statement (DESIGN §3), harmless when two processes run it one after the other.
 */
import type { TableNames } from '../schema.js';

/**
 * `min(base · 2^(n−1), max) · U[0.5, 1]` for the n-th retry, where n − 1 is the row's retry_count
 * before the update (SET expressions see old values). Jitter comes from `random()`: the low 20 bits
 * give U[0, 1] in steps of 1e-6. ROUND (half away from zero) keeps the integer result within
 * [⌈d/2⌉, d] for integral d. The shift is capped at 40 so `1 << n` can never overflow.
 */
const BACKOFF_MS = `CAST(ROUND(
    MIN(@baseDelayMs * (1 << MIN(retry_count, 40)), @maxDelayMs)
    * (0.5 + 0.5 * ((random() & 1048575) / 1048575.0))
  ) AS INTEGER)`;

/** A pod is live while `up` and its heartbeat is younger than the threshold, by the bound clock. */
const LIVE_POD = `status = 'up' AND @now - last_heartbeat_ts < @deadPodThresholdMs`;

/** The fence of DESIGN §3: a write on behalf of a claim matches the exact claim or nothing. */
const FENCE = `step_id = @stepId AND status = 'claimed' AND claimed_by = @podId AND attempt = @attempt`;

/** The SQL of one store, keyed by the statement's purpose. */

/** The optional filters of `stepList`, shared by its statements. */
const LIST_FILTERS = `(@type IS NULL OR type = @type)
      AND (@prefix IS NULL OR (step_id >= @prefix AND step_id < @prefixEnd))
      AND (@idempotencyKey IS NULL OR idempotency_key = @idempotencyKey)`;

export function sqliteQueries(t: TableNames) {
  const steps = t.stepTracker;
  const pods = t.podHealth;
  const events = t.stepEvents;
  const version = t.schemaVersion;
  const retryLeft = `@retryable = 1 AND retry_count < max_retries`;

  return {
    pragmaJournalModeWal: `PRAGMA journal_mode = WAL`,
    pragmaSynchronousNormal: `PRAGMA synchronous = NORMAL`,
    pragmaDataVersion: `PRAGMA data_version`,
    pragmaJournalModeRead: `PRAGMA journal_mode`,
    pragmaSynchronousRead: `PRAGMA synchronous`,
    pragmaBusyTimeoutRead: `PRAGMA busy_timeout`,

    schemaVersionTableExists: `SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = @name`,
    schemaVersionRead: `SELECT version FROM ${version} WHERE id = 1`,
    schemaVersionWrite: `INSERT INTO ${version} (id, version, updated_ts) VALUES (1, @version, @now)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_ts = excluded.updated_ts`,

    /** Migration 4 rebuilds tables from their stored definitions (migrations.ts says why). */
    catalogTableSql: `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = @name`,
    catalogIndexSql: `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = @name AND sql IS NOT NULL`,
    sequenceRead: `SELECT seq FROM sqlite_sequence WHERE name = @name`,
    sequenceRaise: `UPDATE sqlite_sequence SET seq = MAX(seq, @seq) WHERE name = @name`,

    stepInsert: `INSERT INTO ${steps} (step_id, type, args, metadata, priority, status, claimed_by, claim_token,
        attempt, retry_count, max_retries, release_count, run_after, timeout_ms, idempotency_key,
        last_error, result, created_ts, last_update_ts)
      VALUES (@stepId, @type, @args, @metadata, @priority, 'pending', NULL, NULL,
        0, 0, @maxRetries, 0, @runAfter, @timeoutMs, @idempotencyKey,
        NULL, NULL, @now, @now)`,
    stepFindByIdempotencyKey: `SELECT step_id, args FROM ${steps} WHERE type = @type AND idempotency_key = @idempotencyKey`,
    eventInsert: `INSERT INTO ${events} (step_id, ts, kind, pod_id, attempt, detail)
      VALUES (@stepId, @ts, @kind, @podId, @attempt, @detail)`,

    podStatusGet: `SELECT status FROM ${pods} WHERE pod_id = @podId`,
    /** Read-only look before a claim, so idle polls never take the single write lock. */
    stepClaimPrecheck: `SELECT
        (SELECT status FROM ${pods} WHERE pod_id = @podId) AS pod_status,
        EXISTS (SELECT 1 FROM ${steps}
          WHERE status = 'pending' AND run_after <= @now AND type IN (SELECT value FROM json_each(@types))) AS claimable`,
    /**
     * `@types` is a JSON array, so one prepared statement serves any set of registered types.
     * The first `@limit` due steps are the first of two short lists: steps due since creation, in
     * claim order from ready_idx, and delayed steps now due, by run_after from delayed_idx
     * (migration 2 says why). INDEXED BY: without statistics the planner may prefer claim_idx and
     * sort every due row (see migrations.ts for the numbers).
     */
    stepClaim: `UPDATE ${steps}
      SET status = 'claimed', claimed_by = @podId, attempt = attempt + 1, last_update_ts = @now
      WHERE step_id IN (
        SELECT step_id FROM (
          SELECT * FROM (
            SELECT step_id, priority, created_ts FROM ${steps} INDEXED BY ${steps}_ready_idx
            WHERE status = 'pending' AND run_after <= created_ts
              AND run_after <= @now AND type IN (SELECT value FROM json_each(@types))
            ORDER BY priority DESC, created_ts, step_id
            LIMIT @limit)
          UNION ALL
          SELECT * FROM (
            SELECT step_id, priority, created_ts FROM ${steps} INDEXED BY ${steps}_delayed_idx
            WHERE status = 'pending' AND run_after > created_ts
              AND run_after <= @now AND type IN (SELECT value FROM json_each(@types))
            ORDER BY priority DESC, created_ts, step_id
            LIMIT @limit))
        ORDER BY priority DESC, created_ts, step_id
        LIMIT @limit)
      RETURNING *`,

    stepComplete: `UPDATE ${steps}
      SET status = 'completed', result = @result, last_update_ts = @now
      WHERE ${FENCE}
      RETURNING *`,
    /** Retry (pending with backoff) or dead-letter, decided per row from its own counters. */
    stepFail: `UPDATE ${steps}
      SET status = CASE WHEN ${retryLeft} THEN 'pending' ELSE 'failed' END,
          claimed_by = CASE WHEN ${retryLeft} THEN NULL ELSE claimed_by END,
          run_after = CASE WHEN ${retryLeft} THEN @now + ${BACKOFF_MS} ELSE run_after END,
          retry_count = CASE WHEN ${retryLeft} THEN retry_count + 1 ELSE retry_count END,
          last_error = @error,
          last_update_ts = @now
      WHERE ${FENCE}
      RETURNING *`,
    /** Matches nothing once the cap is reached; the caller then applies `stepFail` as a retry. */
    stepRelease: `UPDATE ${steps}
      SET status = 'pending', claimed_by = NULL, run_after = @now, release_count = release_count + 1,
          last_update_ts = @now
      WHERE ${FENCE} AND release_count < @maxReleases
      RETURNING *`,

    stepGet: `SELECT * FROM ${steps} WHERE step_id = @stepId`,
    stepReplay: `UPDATE ${steps}
      SET status = 'pending', claimed_by = NULL, retry_count = 0, run_after = @now, last_update_ts = @now
      WHERE step_id = @stepId AND status = 'failed'
      RETURNING *`,

    /** Step control (control.ts): a cancel keeps claimed_by and attempt, so the holder's fence finds nothing. */
    stepCancel: `UPDATE ${steps} SET status = 'cancelled', last_update_ts = @now
      WHERE step_id = @stepId AND status IN ('pending', 'claimed')
      RETURNING *`,
    stepProgress: `UPDATE ${steps} SET progress = @progress WHERE ${FENCE} RETURNING step_id`,
    /** `@ids` is a JSON array of the pod's running steps; each is a primary-key lookup. */
    stepCancelledAmong: `SELECT step_id FROM ${steps}
      WHERE step_id IN (SELECT value FROM json_each(@ids)) AND status = 'cancelled' AND claimed_by = @podId`,

    eventList: `SELECT * FROM ${events}
      WHERE (@stepId IS NULL OR step_id = @stepId) AND event_id > @afterEventId
      ORDER BY event_id
      LIMIT @limit`,

    podRegister: `INSERT INTO ${pods} (pod_id, name, birth_ts, last_heartbeat_ts, status, meta)
      VALUES (@podId, @name, @now, @now, 'up', @meta)
      ON CONFLICT (pod_id) DO UPDATE SET name = excluded.name, birth_ts = excluded.birth_ts,
        last_heartbeat_ts = excluded.last_heartbeat_ts, status = 'up', meta = excluded.meta
      RETURNING *, (${LIVE_POD}) AS live`,
    podHeartbeat: `UPDATE ${pods}
      SET last_heartbeat_ts = @now, meta = COALESCE(@meta, meta)
      WHERE pod_id = @podId AND status = 'up'
      RETURNING pod_id`,
    podMarkDown: `UPDATE ${pods} SET status = 'down' WHERE pod_id = @podId`,
    /** A re-registering pod retires its previous incarnation: only its own name's row, only while still up. */
    podRetire: `UPDATE ${pods} SET status = 'down' WHERE pod_id = @previousPodId AND name = @name AND status = 'up' AND pod_id <> @podId`,
    podList: `SELECT *, (${LIVE_POD}) AS live FROM ${pods} ORDER BY birth_ts, pod_id`,

    /** Orphans: claims whose holder is not a live pod (no row counts as not live), judged in-statement. */
    recoveryOrphansRecover: `UPDATE ${steps}
      SET status = CASE WHEN retry_count < max_retries THEN 'pending' ELSE 'failed' END,
          run_after = CASE WHEN retry_count < max_retries THEN @now + ${BACKOFF_MS} ELSE run_after END,
          retry_count = CASE WHEN retry_count < max_retries THEN retry_count + 1 ELSE retry_count END,
          last_error = 'claim held by dead pod ' || claimed_by,
          claimed_by = CASE WHEN retry_count < max_retries THEN NULL ELSE claimed_by END,
          last_update_ts = @now
      WHERE status = 'claimed' AND claimed_by NOT IN (SELECT pod_id FROM ${pods} WHERE ${LIVE_POD})
      RETURNING *`,
    recoveryOrphansPreview: `SELECT step_id, retry_count, max_retries FROM ${steps}
      WHERE status = 'claimed' AND claimed_by NOT IN (SELECT pod_id FROM ${pods} WHERE ${LIVE_POD})
      ORDER BY step_id`,
    recoveryDeadPodsMarkDown: `UPDATE ${pods} SET status = 'down'
      WHERE status = 'up' AND NOT (@now - last_heartbeat_ts < @deadPodThresholdMs)
      RETURNING pod_id`,
    recoveryDeadPodsPreview: `SELECT pod_id FROM ${pods}
      WHERE status = 'up' AND NOT (@now - last_heartbeat_ts < @deadPodThresholdMs)
      ORDER BY pod_id`,

    statsByStatus: `SELECT status, COUNT(*) AS n FROM ${steps} GROUP BY status`,
    statsPendingByPriority: `SELECT priority, COUNT(*) AS n FROM ${steps} WHERE status = 'pending' GROUP BY priority`,
    statsActiveByType: `SELECT type, COUNT(*) AS n FROM ${steps} WHERE status IN ('pending', 'claimed') GROUP BY type`,
    statsClaimedByPod: `SELECT claimed_by AS pod_id, COUNT(*) AS n FROM ${steps} WHERE status = 'claimed' GROUP BY claimed_by`,

    queueAgeByPriority: `SELECT priority, COUNT(*) AS due, MIN(run_after) AS oldest_ms FROM ${steps}
      WHERE status = 'pending' AND run_after <= @now GROUP BY priority ORDER BY priority DESC`,

    dlqCount: `SELECT COUNT(*) AS n FROM ${steps} WHERE status = 'failed'`,
    dlqPage: `SELECT * FROM ${steps} WHERE status = 'failed'
      ORDER BY last_update_ts DESC, step_id DESC
      LIMIT @limit OFFSET @offset`,

    /** Browsing (`stepList`): one statement per serving index; every filter is optional (NULL = any). */
    stepListPending: `SELECT * FROM ${steps} WHERE status = 'pending' AND ${LIST_FILTERS}
      ORDER BY priority DESC, created_ts, step_id LIMIT @limit OFFSET @offset`,
    stepListByUpdate: `SELECT * FROM ${steps} WHERE status = @status AND ${LIST_FILTERS}
      ORDER BY last_update_ts DESC, step_id DESC LIMIT @limit OFFSET @offset`,
    stepListNewest: `SELECT * FROM ${steps} WHERE ${LIST_FILTERS}
      ORDER BY step_id DESC LIMIT @limit OFFSET @offset`,
    /**
     * `queueActivity`: one index range count per (bucket, kind) on the (kind, ts) index, so the cost
     * is the events counted and nothing is sorted (a GROUP BY over 2,000,000 recent events took
     * 1.5–2.7 s here, mostly its temporary B-tree).
     */
    activityBuckets: `WITH RECURSIVE buckets(start) AS (
        SELECT @first UNION ALL SELECT start + @bucketMs FROM buckets WHERE start + @bucketMs <= @last
      ), kinds(kind) AS (SELECT value FROM json_each(@kinds)),
      counted AS (
        SELECT b.start AS bucket_start, k.kind,
          (SELECT COUNT(*) FROM ${events} e WHERE e.kind = k.kind AND e.ts >= b.start AND e.ts < MIN(b.start + @bucketMs, @now + 1)) AS n
        FROM buckets b CROSS JOIN kinds k
      )
      SELECT bucket_start, kind, n FROM counted WHERE n > 0 ORDER BY bucket_start, kind`,

    /** One retention batch: up to `@limit` expired terminal steps, through updated_idx. */
    pruneBatchPick: `SELECT step_id FROM ${steps}
      WHERE status IN ('completed', 'failed', 'cancelled') AND last_update_ts < @cutoff LIMIT @limit`,
    /** `@ids` is the JSON array pruneBatchPick returned, so one prepared statement serves any batch. */
    pruneEvents: `DELETE FROM ${events} WHERE step_id IN (SELECT value FROM json_each(@ids))`,
    pruneSteps: `DELETE FROM ${steps} WHERE step_id IN (SELECT value FROM json_each(@ids))
      AND status IN ('completed', 'failed', 'cancelled') AND last_update_ts < @cutoff`,
    prunePods: `DELETE FROM ${pods}
      WHERE status = 'down' AND last_heartbeat_ts < @cutoff
        AND NOT EXISTS (SELECT 1 FROM ${steps} s WHERE s.status = 'claimed' AND s.claimed_by = ${pods}.pod_id)`,

    /** The watcher's one cheap read: both answers come from the (status, run_after, …) index. */
    watchProbe: `SELECT
        EXISTS (SELECT 1 FROM ${steps} WHERE status = 'pending' AND run_after <= @now) AS claimable,
        (SELECT MIN(run_after) FROM ${steps} WHERE status = 'pending' AND run_after > @now) AS next_run_after`,
  } as const;
}

/** The statements of one store. */
export type SqliteQueries = ReturnType<typeof sqliteQueries>;
/** The name of one statement. */
export type SqliteQueryName = keyof SqliteQueries;
