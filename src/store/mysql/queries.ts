/**
 * Every DML statement of the MySQL driver, one entry per statement, built from the validated table
 * names (DDL lives with its version in migrations.ts). Owns SQL text only: no connection, no
 * values, no decisions; callers bind `?` placeholders in order (mysql2 escapes them; an array bound
 * to `IN (?)` becomes a list, an array of arrays bound to `VALUES ?` becomes rows).
 *
 * MySQL has no `RETURNING` on UPDATE, so a write on one step is: lock the row and read the clock in
 * one `SELECT … FOR UPDATE`, decide in the driver on that locked row, write it back by primary key,
 * append its event: one transaction, and the decision is made on exactly the version that is then
 * written. Claims lock their rows with `FOR UPDATE SKIP LOCKED` walking the claim-order index, so
 * concurrent claimers take disjoint steps and never wait for each other.
 *
 * The clock is `COALESCE(?, CLOCK)`: the test-only `now` when bound, else the database's UTC clock
 * to the millisecond (the session's time_zone is '+00:00', connection.ts).
 */
import type { MysqlNames } from './names.js';

/** The database clock as epoch ms (UTC: see the session set-up in connection.ts). */
export const CLOCK = 'CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)';

/** The statement clock: the bound test `now` (first `?`), else the database clock. */
export const NOW = `COALESCE(CAST(? AS SIGNED), ${CLOCK})`;

/** `step_tracker` columns as rows.ts reads them (the stored `neg_priority` stays inside). */
export const STEP_COLUMNS = [
  'step_id',
  'type',
  'args',
  'metadata',
  'priority',
  'status',
  'claimed_by',
  'claim_token',
  'attempt',
  'retry_count',
  'max_retries',
  'release_count',
  'run_after',
  'timeout_ms',
  'idempotency_key',
  'last_error',
  'result',
  'progress',
  'created_ts',
  'last_update_ts',
  'depends_on',
  'waiting_on',
  'deadline',
].join(', ');

const EVENT_COLUMNS = '(step_id, ts, kind, pod_id, attempt, detail)';

/** `status='up'` and `now − last_heartbeat_ts < threshold` (DESIGN §2); binds now, then threshold. */
const LIVE = `(status = 'up' AND ? - last_heartbeat_ts < ?)`;

/** The optional filters of `stepList`; binds type twice, prefix, prefix, prefix end, key twice (NULL = any). */
const LIST_FILTERS = `(? IS NULL OR type = ?)
      AND (? IS NULL OR (step_id >= ? AND step_id < ?))
      AND (? IS NULL OR idempotency_key = ?)`;

/**
 * types, now, [extra's values,] limit. FORCE INDEX: the claim must walk the claim-order index (by
 * priority, then deadline with none last through the stored `deadline_key`) and stop at its LIMIT;
 * a plan that sorts would lock every due row it reads.
 */
function claimPickSql(steps: string, index: string, extra: string): string {
  return `SELECT ${STEP_COLUMNS} FROM ${steps} FORCE INDEX (${index})
      WHERE status = 'pending' AND type IN (?) AND run_after <= ? AND waiting_on = 0 ${extra}
      ORDER BY neg_priority, deadline_key, created_ts, step_id
      LIMIT ?
      FOR UPDATE SKIP LOCKED`;
}

/** The SQL of one store, keyed by the statement's purpose. */
export function mysqlQueries(n: MysqlNames) {
  const steps = n.stepTracker;
  const pods = n.podHealth;
  const events = n.stepEvents;
  const deps = n.stepDependencies;
  return {
    /** `now` (bound or database clock) as `now_ms`. */
    clock: `SELECT ${NOW} AS now_ms`,

    /** Rows: [step_id, type, args, metadata, priority, max_retries, run_after, timeout_ms, key, created, updated]. */
    stepInsert: `INSERT INTO ${steps} (step_id, type, args, metadata, priority, status, attempt, retry_count, max_retries,
        release_count, run_after, timeout_ms, idempotency_key, created_ts, last_update_ts, deadline, depends_on, waiting_on)
      VALUES ?`,
    /** Parent ids: their statuses, share-locked so a parent's completion or dead-lettering waits for this submit. */
    parentStatuses: `SELECT step_id, status FROM ${steps} WHERE step_id IN (?) LOCK IN SHARE MODE`,
    /** Rows: [step_id, parent_step_id]. */
    edgeInsert: `INSERT IGNORE INTO ${deps} (step_id, parent_step_id) VALUES ?`,
    /** Parent ids: each child waits for as many parents fewer as completed among them. */
    gateOpen: `UPDATE ${steps} s JOIN (SELECT step_id, COUNT(*) AS done FROM ${deps} WHERE parent_step_id IN (?) GROUP BY step_id) g
        ON s.step_id = g.step_id
      SET s.waiting_on = GREATEST(s.waiting_on - g.done, 0)
      WHERE s.waiting_on > 0`,
    /** Root ids: every step reachable from them through child edges. */
    descendants: `WITH RECURSIVE descendants (step_id) AS (
        SELECT step_id FROM ${deps} WHERE parent_step_id IN (?)
        UNION SELECT d.step_id FROM ${deps} d JOIN descendants x ON d.parent_step_id = x.step_id)
      SELECT step_id FROM descendants`,
    /** Ids: the pending ones, locked. */
    lockPending: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE step_id IN (?) AND status = 'pending' ORDER BY step_id FOR UPDATE`,
    /** Ids: the ones an ancestor's dead-lettering failed (failed behind a shut gate), locked. */
    lockCascaded: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE step_id IN (?) AND status = 'failed' AND waiting_on > 0 ORDER BY step_id FOR UPDATE`,
    /** error, now, ids (locked). */
    cascadeFail: `UPDATE ${steps} SET status = 'failed', last_error = ?, last_update_ts = ? WHERE step_id IN (?)`,
    /** now, now, ids (locked). */
    cascadeRevive: `UPDATE ${steps} SET status = 'pending', claimed_by = NULL, retry_count = 0, run_after = ?, last_update_ts = ? WHERE step_id IN (?)`,
    /** step id. */
    parentResults: `SELECT p.step_id, p.result FROM ${deps} d JOIN ${steps} p ON p.step_id = d.parent_step_id WHERE d.step_id = ?`,
    /** ids, ids. */
    edgesTouching: `SELECT step_id, parent_step_id FROM ${deps} WHERE step_id IN (?)
      UNION SELECT step_id, parent_step_id FROM ${deps} WHERE parent_step_id IN (?)`,
    /** ids. */
    stepGetMany: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE step_id IN (?)`,
    /** step ids. */
    pruneEdges: `DELETE FROM ${deps} WHERE step_id IN (?)`,
    /** Existing steps holding any of the `(type, idempotency_key)` pairs bound as a list of rows; locks them. */
    stepFindByKeys: `SELECT step_id, type, idempotency_key, args FROM ${steps}
      WHERE (type, idempotency_key) IN (?) FOR UPDATE`,
    /** Rows: [step_id, ts, kind, pod_id, attempt, detail JSON]. */
    eventInsert: `INSERT INTO ${events} ${EVENT_COLUMNS} VALUES ?`,

    /** The clock and the claimer's pod status (null when the row is missing): now, pod. */
    claimStart: `SELECT ${NOW} AS now_ms, (SELECT status FROM ${pods} WHERE pod_id = ?) AS pod_status`,
    claimPick: claimPickSql(steps, n.index('st_claim_deadline_ix'), ''),
    /**
     * The pick of one flow-limited type, after `flowUsage` under the type's named lock: types (the
     * one type), now, window start twice (null: no rate limit), limit. A step whose last start is
     * still inside the rate window is not taken (flow.ts says why).
     */
    claimPickLimited: claimPickSql(steps, n.index('st_claim_deadline_ix'), 'AND (? IS NULL OR claimed_ts IS NULL OR claimed_ts <= ?)'),
    /** A limited type's claimed steps and claims started after the window start: type, type, window start (null: none). */
    flowUsage: `SELECT (SELECT COUNT(*) FROM ${steps} WHERE type = ? AND status = 'claimed') AS claimed,
        (SELECT COUNT(*) FROM ${steps} WHERE type = ? AND claimed_ts > ?) AS started`,
    /**
     * Takes the named lock of a flow-limited type: lock suffix + type, seconds to wait. Names are
     * server-wide and at most 64 characters, so database, prefix and type are hashed.
     */
    flowLock: `SELECT GET_LOCK(CONCAT('fleet_q:flow:', SHA1(CONCAT(DATABASE(), ?))), ?) AS got`,
    flowUnlock: `SELECT RELEASE_LOCK(CONCAT('fleet_q:flow:', SHA1(CONCAT(DATABASE(), ?)))) AS released`,
    /** pod, now (last update), now (claim start), step ids (locked by claimPick). */
    claimMark: `UPDATE ${steps} SET status = 'claimed', claimed_by = ?, attempt = attempt + 1, last_update_ts = ?, claimed_ts = ?
      WHERE step_id IN (?) AND status = 'pending'`,

    /** One step, locked, with the clock: now, step id. */
    stepLock: `SELECT ${STEP_COLUMNS}, ${NOW} AS now_ms FROM ${steps} WHERE step_id = ? FOR UPDATE`,
    /** Several steps, locked in primary-key order (so two batches cannot deadlock), with the clock: now, ids. */
    stepLockMany: `SELECT ${STEP_COLUMNS}, ${NOW} AS now_ms FROM ${steps} WHERE step_id IN (?) ORDER BY step_id FOR UPDATE`,
    /** result JSON, now, step id (locked and checked against the fence by the caller). */
    stepComplete: `UPDATE ${steps} SET status = 'completed', result = ?, last_update_ts = ? WHERE step_id = ?`,
    /** status, claimed_by, retry_count, release_count, run_after, last_error, now, step id (locked). */
    stepSettle: `UPDATE ${steps}
      SET status = ?, claimed_by = ?, retry_count = ?, release_count = ?, run_after = ?, last_error = ?, last_update_ts = ?
      WHERE step_id = ?`,

    /** now, step id (locked by stepLock and found pending or claimed): claimed_by and attempt are kept. */
    stepCancel: `UPDATE ${steps} SET status = 'cancelled', last_update_ts = ? WHERE step_id = ?`,
    /** progress JSON, step id (locked and checked against the fence by the caller). */
    stepProgress: `UPDATE ${steps} SET progress = ? WHERE step_id = ?`,
    /** pod, step ids: primary-key probes. */
    stepCancelledAmong: `SELECT step_id FROM ${steps} WHERE step_id IN (?) AND status = 'cancelled' AND claimed_by = ?`,

    /** step id. */
    stepGet: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE step_id = ?`,
    /** now, step id (locked by stepLock). */
    stepReplay: `UPDATE ${steps} SET status = 'pending', claimed_by = NULL, retry_count = 0, run_after = ?, last_update_ts = ?
      WHERE step_id = ? AND status = 'failed'`,

    /** step id or null, after event id, limit. */
    eventList: `SELECT event_id, step_id, ts, kind, pod_id, attempt, detail FROM ${events}
      WHERE (? IS NULL OR step_id = ?) AND event_id > ?
      ORDER BY event_id
      LIMIT ?`,

    /** now, pod, name, meta: insert or revive. */
    podRegister: `INSERT INTO ${pods} (pod_id, name, birth_ts, last_heartbeat_ts, status, meta)
      SELECT ?, ?, c.now_ms, c.now_ms, 'up', ? FROM (SELECT ${NOW} AS now_ms) c
      ON DUPLICATE KEY UPDATE name = VALUES(name), birth_ts = VALUES(birth_ts),
        last_heartbeat_ts = VALUES(last_heartbeat_ts), status = 'up', meta = VALUES(meta)`,
    /** now, threshold, pod. */
    podGet: `SELECT pod_id, name, birth_ts, last_heartbeat_ts, status, meta, ${LIVE} AS live FROM ${pods} WHERE pod_id = ?`,
    /** now (bound or clock), meta or null, pod: only while up. */
    podHeartbeat: `UPDATE ${pods} SET last_heartbeat_ts = ?, meta = COALESCE(?, meta) WHERE pod_id = ? AND status = 'up'`,
    /** previous pod, name, new pod: the previous incarnation goes down, only while still up under this name. */
    podRetire: `UPDATE ${pods} SET status = 'down' WHERE pod_id = ? AND name = ? AND status = 'up' AND pod_id <> ?`,
    /** pod. */
    podMarkDown: `UPDATE ${pods} SET status = 'down' WHERE pod_id = ?`,
    /** now, threshold. */
    podList: `SELECT pod_id, name, birth_ts, last_heartbeat_ts, status, meta, ${LIVE} AS live FROM ${pods}
      ORDER BY birth_ts, pod_id`,
    /** now, threshold: live pods, eldest first. */
    podListLive: `SELECT pod_id, name, birth_ts, last_heartbeat_ts, status, meta, 1 AS live FROM ${pods}
      WHERE ${LIVE} ORDER BY birth_ts, pod_id`,

    /**
     * Claimed steps whose holder is not live (no row, down, or silent), locked SKIP LOCKED so two
     * sweepers split them instead of waiting: now, threshold. `sweepPreview` is the same read, unlocked.
     */
    sweepOrphans: `SELECT ${STEP_COLUMNS} FROM ${steps} s
      WHERE s.status = 'claimed'
        AND NOT EXISTS (SELECT 1 FROM ${pods} p WHERE p.pod_id = s.claimed_by AND p.status = 'up' AND ? - p.last_heartbeat_ts < ?)
      ORDER BY s.step_id
      FOR UPDATE SKIP LOCKED`,
    sweepPreview: `SELECT ${STEP_COLUMNS} FROM ${steps} s
      WHERE s.status = 'claimed'
        AND NOT EXISTS (SELECT 1 FROM ${pods} p WHERE p.pod_id = s.claimed_by AND p.status = 'up' AND ? - p.last_heartbeat_ts < ?)
      ORDER BY s.step_id`,
    /** Pods up but not live: now, threshold. Locked for sweepDownPods; the preview reads unlocked. */
    sweepDeadPods: `SELECT pod_id FROM ${pods} WHERE status = 'up' AND NOT (? - last_heartbeat_ts < ?) ORDER BY pod_id FOR UPDATE`,
    sweepDeadPodsPreview: `SELECT pod_id FROM ${pods} WHERE status = 'up' AND NOT (? - last_heartbeat_ts < ?) ORDER BY pod_id`,
    /** pod ids, now, threshold: re-checked, so a pod that beat meanwhile stays up. */
    sweepDownPods: `UPDATE ${pods} SET status = 'down' WHERE pod_id IN (?) AND status = 'up' AND NOT (? - last_heartbeat_ts < ?)`,

    statsByStatus: `SELECT status, COUNT(*) AS n FROM ${steps} GROUP BY status`,
    statsPendingByPriority: `SELECT priority, COUNT(*) AS n FROM ${steps} WHERE status = 'pending' GROUP BY priority`,
    statsActiveByType: `SELECT type, COUNT(*) AS n FROM ${steps} WHERE status IN ('pending', 'claimed') GROUP BY type`,
    statsClaimedByPod: `SELECT claimed_by AS pod_id, COUNT(*) AS n FROM ${steps} WHERE status = 'claimed' GROUP BY claimed_by`,

    dlqCount: `SELECT COUNT(*) AS n FROM ${steps} WHERE status = 'failed'`,
    /** limit, offset. */
    dlqPage: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE status = 'failed'
      ORDER BY last_update_ts DESC, step_id DESC
      LIMIT ? OFFSET ?`,

    /** Browsing (`stepList`), one statement per serving index: the LIST_FILTERS values, limit, offset. */
    stepListPending: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE status = 'pending' AND ${LIST_FILTERS}
      ORDER BY neg_priority, created_ts, step_id LIMIT ? OFFSET ?`,
    /** status, the LIST_FILTERS values, limit, offset. */
    stepListByUpdate: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE status = ? AND ${LIST_FILTERS}
      ORDER BY last_update_ts DESC, step_id DESC LIMIT ? OFFSET ?`,
    stepListNewest: `SELECT ${STEP_COLUMNS} FROM ${steps} WHERE ${LIST_FILTERS}
      ORDER BY step_id DESC LIMIT ? OFFSET ?`,
    /** bucket, bucket, kinds (a list), first bucket start, now: counts on the (kind, ts) index. */
    activityBuckets: `SELECT FLOOR(ts / ?) * ? AS bucket_start, kind, COUNT(*) AS n FROM ${events}
      WHERE kind IN (?) AND ts >= ? AND ts <= ?
      GROUP BY bucket_start, kind ORDER BY bucket_start, kind`,
    /** now: due pending steps per priority, highest first (st_due_ix finds them). */
    queueAgeByPriority: `SELECT priority, COUNT(*) AS due, MIN(run_after) AS oldest_ms FROM ${steps}
      WHERE status = 'pending' AND run_after <= ? AND waiting_on = 0 GROUP BY priority ORDER BY priority DESC`,
    /** now: pending steps whose deadline has passed (st_deadline_ix). */
    queuePastDeadline: `SELECT COUNT(*) AS n FROM ${steps} WHERE status = 'pending' AND deadline < ?`,

    /** cutoff, chunk: terminal steps last updated before the cutoff, oldest first, skipping locked rows. */
    pruneDoomed: `SELECT step_id FROM ${steps}
      WHERE status IN ('completed', 'failed', 'cancelled') AND last_update_ts < ?
      ORDER BY last_update_ts
      LIMIT ?
      FOR UPDATE SKIP LOCKED`,
    /** step ids. */
    pruneEvents: `DELETE FROM ${events} WHERE step_id IN (?)`,
    pruneSteps: `DELETE FROM ${steps} WHERE step_id IN (?) AND status IN ('completed', 'failed', 'cancelled')`,
    /** cutoff: down pods silent since before it, holding no claim. */
    prunePods: `DELETE FROM ${pods}
      WHERE status = 'down' AND last_heartbeat_ts < ?
        AND NOT EXISTS (SELECT 1 FROM ${steps} s WHERE s.status = 'claimed' AND s.claimed_by = ${pods}.pod_id)`,

    /**
     * The watcher's one cheap read: the newest event id (every transition writes one, so it moves on
     * any change by any process), whether a pending step is claimable now, and the earliest future
     * `run_after`, both from the (status, run_after) index.
     */
    watchProbe: `SELECT c.now_ms, (SELECT MAX(event_id) FROM ${events}) AS marker,
        EXISTS (SELECT 1 FROM ${steps} WHERE status = 'pending' AND run_after <= c.now_ms AND waiting_on = 0) AS claimable,
        (SELECT MIN(run_after) FROM ${steps} WHERE status = 'pending' AND run_after > c.now_ms) AS next_run_after
      FROM (SELECT ${CLOCK} AS now_ms) c`,
  } as const;
}

/** The statements of one store. */
export type MysqlQueries = ReturnType<typeof mysqlQueries>;
