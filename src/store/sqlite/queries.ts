/**
 * Every DML statement and pragma of the SQLite driver, one entry per statement, built from the
 * validated table names (DDL lives with its version in migrations.ts). Owns SQL text only: no
 * connection, no binding, no decisions; callers bind parameters by name (`@now`, `@podId`, …).
 *
 * Time is INTEGER epoch ms bound as `@now`, so a test clock and the host clock take the same path.
 * Liveness, backoff and fencing are judged inside the statements so each write is a single
 * conditional statement (DESIGN §3), harmless when two processes run it one after the other.
 */
import { DEFAULT_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import type { TableNames } from '../schema.js';
import { NO_DEADLINE } from './migrations.js';

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

/** Above this many due delayed steps, a claim walks them in claim order instead of sorting them all (migration 7). */
const DUE_SORT_MAX = 1_000;

/** Claim order within a priority: earliest deadline first, none last (migration 4's index key). */
const DEADLINE_KEY = `COALESCE(deadline, ${NO_DEADLINE})`;

/**
 * `@types` is a JSON array, so one prepared statement serves any set of registered types.
 * The first `@limit` due steps are the first of two short lists: steps due since creation, in
 * claim order from ready_deadline_idx, and delayed steps now due, by run_after from delayed_idx
 * (migration 2 says why); both hold ungated steps only (`waiting_on = 0`, migration 4: read from the
 * index for the first list, from the row for the second). INDEXED BY: without statistics the planner may prefer claim_idx and
 * sort every due row (see migrations.ts for the numbers). `extra` narrows both lists.
 *
 * Sorting the due delayed steps is cheap while they are few; when more than `DUE_SORT_MAX` fall due
 * together (a bulk submit with one delay, a retry backlog) the second list comes instead from
 * delayed_order_idx (migration 7) walked in claim order, stopping at the first `@limit` due: one
 * pod's burn-down of 20,000 such steps went from 2,700 to 5,216 steps/s. The count sets each list's
 * LIMIT (0 for the one not wanted), which SQLite checks before it starts a loop, so only one of the
 * two runs (as a WHERE term the count did not stop the walk: a claim beside 100,000 steps delayed to
 * tomorrow went from 0.8 to 3.2 ms); both take the same steps. The count is a materialized CTE, so
 * it runs once per claim, not once per list.
 */
/** The claim's columns (`CLAIMED_STEP_FIELDS`), as `ClaimedRecord` in rows.ts reads them. */
const CLAIMED_COLUMNS = 'step_id, type, args, priority, attempt, timeout_ms, idempotency_key, created_ts, depends_on, deadline';

function claimSql(steps: string, extra: string): string {
  const MANY_DUE = '(SELECT yes FROM many_due)';
  /** One list: the due ungated steps of `@types` that `index` holds (`delayed` says which half), in claim order. */
  const list = (index: string, delayed: string, limit: string) => `SELECT * FROM (
            SELECT step_id, priority, ${DEADLINE_KEY} AS deadline_key, created_ts FROM ${steps} INDEXED BY ${steps}_${index}
            WHERE status = 'pending' AND ${delayed} AND waiting_on = 0
              AND run_after <= @now AND type IN (SELECT value FROM json_each(@types)) ${extra}
            ORDER BY priority DESC, ${DEADLINE_KEY}, created_ts, step_id
            LIMIT ${limit})`;
  return `WITH many_due(yes) AS MATERIALIZED (SELECT count(*) > ${DUE_SORT_MAX} FROM (SELECT 1 FROM ${steps} INDEXED BY ${steps}_delayed_idx
        WHERE status = 'pending' AND run_after > created_ts AND run_after <= @now LIMIT ${DUE_SORT_MAX + 1}))
      UPDATE ${steps}
      SET status = 'claimed', claimed_by = @podId, attempt = attempt + 1, last_update_ts = @now, claimed_ts = @now
      WHERE step_id IN (
        SELECT step_id FROM (
          ${list('ready_deadline_idx', 'run_after <= created_ts', '@limit')}
          UNION ALL
          ${list('delayed_idx', 'run_after > created_ts', `CASE WHEN ${MANY_DUE} THEN 0 ELSE @limit END`)}
          UNION ALL
          ${list('delayed_order_idx', 'run_after > created_ts', `CASE WHEN ${MANY_DUE} THEN @limit ELSE 0 END`)})
        ORDER BY priority DESC, deadline_key, created_ts, step_id
        LIMIT @limit)
      RETURNING ${CLAIMED_COLUMNS}`;
}

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
  const deps = t.stepDependencies;
  /** Every step reachable from the steps in the JSON array `@ids` through child edges. */
  const DESCENDANTS = `WITH RECURSIVE descendants(step_id) AS (
        SELECT step_id FROM ${deps} WHERE parent_step_id IN (SELECT value FROM json_each(@ids))
        UNION SELECT d.step_id FROM ${deps} d JOIN descendants x ON d.parent_step_id = x.step_id)`;
  const retryLeft = `@retryable = 1 AND retry_count < max_retries`;
  /** Fenced completes of the claims in the JSON array `@items` of `[step, pod, attempt, result, now]`. */
  const completeBatch = `UPDATE ${steps}
      SET status = 'completed', result = c.value ->> 3, last_update_ts = c.value ->> 4
      FROM json_each(@items) AS c
      WHERE ${steps}.step_id = c.value ->> 0 AND +${steps}.status = 'claimed'
        AND +${steps}.claimed_by = c.value ->> 1 AND ${steps}.attempt = c.value ->> 2`;

  return {
    pragmaJournalModeWal: `PRAGMA journal_mode = WAL`,
    pragmaSynchronousNormal: `PRAGMA synchronous = NORMAL`,
    pragmaDataVersion: `PRAGMA data_version`,
    pragmaJournalModeRead: `PRAGMA journal_mode`,
    pragmaSynchronousRead: `PRAGMA synchronous`,
    pragmaBusyTimeoutRead: `PRAGMA busy_timeout`,
    /** The write connection's own automatic checkpoint while the background checkpointer runs (checkpointer.ts). */
    pragmaWalAutocheckpointFallback: `PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`,
    /** SQLite's default, back once the background checkpointer stopped. */
    pragmaWalAutocheckpointDefault: `PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`,
    pragmaWalAutocheckpointRead: `PRAGMA wal_autocheckpoint`,
    /** The background checkpointer's one statement, on its own connection: never waits, never blocks a writer. */
    pragmaWalCheckpointPassive: `PRAGMA wal_checkpoint(PASSIVE)`,

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
        last_error, result, created_ts, last_update_ts, deadline)
      VALUES (@stepId, @type, @args, @metadata, @priority, 'pending', NULL, NULL,
        0, 0, @maxRetries, 0, @runAfter, @timeoutMs, @idempotencyKey,
        NULL, NULL, @now, @now, @deadline)`,
    /** A step with workflow parents: `stepInsert` plus its declared parents and gate (a plain step leaves the defaults). */
    stepInsertWithParents: `INSERT INTO ${steps} (step_id, type, args, metadata, priority, status, claimed_by, claim_token,
        attempt, retry_count, max_retries, release_count, run_after, timeout_ms, idempotency_key,
        last_error, result, created_ts, last_update_ts, deadline, depends_on, waiting_on)
      VALUES (@stepId, @type, @args, @metadata, @priority, 'pending', NULL, NULL,
        0, 0, @maxRetries, 0, @runAfter, @timeoutMs, @idempotencyKey,
        NULL, NULL, @now, @now, @deadline, @dependsOn, @waitingOn)`,
    /** The statuses of the parents in the JSON array `@ids`, read inside the submit's write transaction. */
    parentStatuses: `SELECT step_id, status FROM ${steps} WHERE step_id IN (SELECT value FROM json_each(@ids))`,
    dependencyInsert: `INSERT OR IGNORE INTO ${deps} (step_id, parent_step_id) VALUES (@stepId, @parentStepId)`,
    /** A parent completed: each child counts one parent fewer to wait for (the gate opens at 0). */
    gateOpen: `UPDATE ${steps} SET waiting_on = waiting_on - 1
      WHERE step_id IN (SELECT step_id FROM ${deps} WHERE parent_step_id = @stepId) AND waiting_on > 0`,
    /**
     * Parents completed in one batch (`@ids`, a JSON array): each child counts down by how many of its
     * parents are among them, in one statement (a batch with no children touches only the index).
     */
    gateOpenMany: `UPDATE ${steps} SET waiting_on = MAX(0, waiting_on - (SELECT COUNT(*) FROM ${deps} d
        WHERE d.step_id = ${steps}.step_id AND d.parent_step_id IN (SELECT value FROM json_each(@ids))))
      WHERE step_id IN (SELECT step_id FROM ${deps} WHERE parent_step_id IN (SELECT value FROM json_each(@ids))) AND waiting_on > 0`,
    /** A dead-lettering fails every pending descendant of the steps in `@ids`. */
    cascadeFail: `${DESCENDANTS}
      UPDATE ${steps} SET status = 'failed', last_error = @error, last_update_ts = @now
      WHERE status = 'pending' AND step_id IN (SELECT step_id FROM descendants)
      RETURNING *`,
    /** A replay revives the descendants that an ancestor's dead-lettering failed (they never ran: gate shut). */
    cascadeRevivePick: `${DESCENDANTS}
      SELECT step_id, retry_count FROM ${steps}
      WHERE status = 'failed' AND waiting_on > 0 AND step_id IN (SELECT step_id FROM descendants)`,
    cascadeRevive: `UPDATE ${steps} SET status = 'pending', claimed_by = NULL, retry_count = 0, run_after = @now, last_update_ts = @now
      WHERE status = 'failed' AND waiting_on > 0 AND step_id IN (SELECT value FROM json_each(@ids))
      RETURNING *`,
    parentResults: `SELECT p.step_id, p.result FROM ${deps} d JOIN ${steps} p ON p.step_id = d.parent_step_id WHERE d.step_id = @stepId`,
    edgesTouching: `SELECT step_id, parent_step_id FROM ${deps}
      WHERE step_id IN (SELECT value FROM json_each(@ids)) OR parent_step_id IN (SELECT value FROM json_each(@ids))`,
    stepGetMany: `SELECT * FROM ${steps} WHERE step_id IN (SELECT value FROM json_each(@ids))`,
    pruneDependencies: `DELETE FROM ${deps} WHERE step_id IN (SELECT value FROM json_each(@ids))`,
    stepFindByIdempotencyKey: `SELECT step_id, args FROM ${steps} WHERE type = @type AND idempotency_key = @idempotencyKey`,
    eventInsert: `INSERT INTO ${events} (step_id, ts, kind, pod_id, attempt, detail)
      VALUES (@stepId, @ts, @kind, @podId, @attempt, @detail)`,
    /**
     * Events of one kind with an empty detail for a batch of steps in one statement: `@rows` is a
     * JSON array of `[step_id, ts, pod_id, attempt]`, inserted in array order so event ids follow it.
     * One statement instead of one per step halved the driver's share of a claim (see fenced.ts).
     */
    eventInsertPlainMany: `INSERT INTO ${events} (step_id, ts, kind, pod_id, attempt, detail)
      SELECT e.value ->> 0, e.value ->> 1, @kind, e.value ->> 2, e.value ->> 3, '{}'
      FROM json_each(@rows) AS e ORDER BY e.key`,

    podStatusGet: `SELECT status FROM ${pods} WHERE pod_id = @podId`,
    /**
     * Read-only look before a claim, so idle polls never take the single write lock. `next_due` is
     * the earliest future run_after of any type (an early answer is safe: the memo of
     * idle-claims.ts only looks again sooner), one probe of claim_idx.
     */
    stepClaimPrecheck: `SELECT
        (SELECT status FROM ${pods} WHERE pod_id = @podId) AS pod_status,
        EXISTS (SELECT 1 FROM ${steps}
          WHERE status = 'pending' AND run_after <= @now AND waiting_on = 0 AND type IN (SELECT value FROM json_each(@types))) AS claimable,
        (SELECT MIN(run_after) FROM ${steps} WHERE status = 'pending' AND run_after > @now AND waiting_on = 0) AS next_due`,
    stepClaim: claimSql(steps, ''),
    /**
     * The claim of one flow-limited type (`@types` holds it alone), run after `stepFlowUsage` in the
     * same write transaction; `@windowStart` (null without a rate limit) keeps a step whose last start
     * is still inside the window from starting again (flow.ts says why).
     */
    stepClaimLimited: claimSql(steps, 'AND (@windowStart IS NULL OR claimed_ts IS NULL OR claimed_ts <= @windowStart)'),
    /** A limited type's steps claimed now and claims started after `@windowStart` (null: none counted). */
    stepFlowUsage: `SELECT
        (SELECT COUNT(*) FROM ${steps} WHERE type = @type AND status = 'claimed') AS claimed,
        (SELECT COUNT(*) FROM ${steps} WHERE type = @type AND claimed_ts IS NOT NULL AND claimed_ts > @windowStart) AS started`,

    stepComplete: `UPDATE ${steps}
      SET status = 'completed', result = @result, last_update_ts = @now
      WHERE ${FENCE}
      RETURNING *`,
    /**
     * The completions of one batch in one statement: `@items` is a JSON array of
     * `[step_id, pod_id, attempt, result_json, now]`, each fenced like `stepComplete`. The unary `+`
     * keeps the planner off the status and claimed_by indexes, so each item is one primary-key
     * lookup instead of a scan of every claimed row per item.
     */
    stepCompleteBatch: `${completeBatch} RETURNING *`,
    stepCompleteBatchOutcomes: `${completeBatch} RETURNING step_id, attempt`,
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
      WHERE status = 'pending' AND run_after <= @now AND waiting_on = 0 GROUP BY priority ORDER BY priority DESC`,
    queuePastDeadline: `SELECT COUNT(*) AS n FROM ${steps} WHERE status = 'pending' AND deadline IS NOT NULL AND deadline < @now`,

    dlqCount: `SELECT COUNT(*) AS n FROM ${steps} WHERE status = 'failed'`,
    dlqPage: `SELECT * FROM ${steps} WHERE status = 'failed'
      ORDER BY last_update_ts DESC, step_id DESC
      LIMIT @limit OFFSET @offset`,

    /** Browsing (`stepList`): one statement per serving index; every filter is optional (NULL = any). */
    stepListPending: `SELECT * FROM ${steps} WHERE status = 'pending' AND ${LIST_FILTERS}
      ORDER BY priority DESC, ${DEADLINE_KEY}, created_ts, step_id LIMIT @limit OFFSET @offset`,
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
        EXISTS (SELECT 1 FROM ${steps} WHERE status = 'pending' AND run_after <= @now AND waiting_on = 0) AS claimable,
        (SELECT MIN(run_after) FROM ${steps} WHERE status = 'pending' AND run_after > @now) AS next_run_after`,
  } as const;
}

/** The statements of one store. */
export type SqliteQueries = ReturnType<typeof sqliteQueries>;
/** The name of one statement. */
export type SqliteQueryName = keyof SqliteQueries;
