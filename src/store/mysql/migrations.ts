/**
 * The MySQL / MariaDB schema, as numbered additive migrations, and the runner that applies them.
 * Owns DDL and the schema_version row; must not hold queue logic (queries.ts).
 *
 * Many pods may start at once against an empty database, so the runner holds a named lock
 * (`GET_LOCK`, keyed by database + prefix) on its own connection: the first applies the migrations,
 * the others wait and then find nothing to do. DDL is not transactional in MySQL (each CREATE
 * commits), so every statement is written to be re-runnable (`IF NOT EXISTS`) and the version is
 * recorded last: a migration cut short is completed by the next run. A database newer than this
 * build is refused before anything is written.
 *
 * Column choices: times are BIGINT epoch ms (exact in-statement arithmetic, and the test clock and
 * the database clock take one path; the clock itself is UTC `CURRENT_TIMESTAMP(3)`, queries.ts);
 * text is utf8mb4 with the binary collation, so ids, types and keys compare and sort byte by byte as
 * in JavaScript (the default `_ci` collations would make 'K' and 'k' one idempotency key); the
 * idempotency key is VARBINARY, since even `utf8mb4_bin` pads: it would make 'k' and 'k ' one key.
 * `neg_priority` is a stored copy of `-priority`, so the claim order `priority DESC, created_ts,
 * step_id` is one ascending index on MariaDB 10.6/10.7 too (they ignore DESC in an index
 * definition); claims walk that index and stop at their LIMIT instead of sorting every due row.
 */
import type mysql from 'mysql2/promise';
import { SchemaTooNewError } from '../../errors.js';
import type { MigrateResult } from '../store.js';
import type { MysqlNames } from './names.js';

/** One migration: its version and its (re-runnable) statements, run in order. */
export interface MysqlMigration {
  readonly version: number;
  readonly description: string;
  statements(n: MysqlNames): readonly string[];
}

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const STATUS_CHECK = "status IN ('pending', 'claimed', 'completed', 'failed')";
const KIND_CHECK = "kind IN ('submitted', 'claimed', 'completed', 'retried', 'recovered', 'dead_lettered', 'released', 'replayed', 'stale_write_rejected')";

/** Longest idempotency key in bytes (the API allows 255 characters, up to 4 bytes each). */
export const MAX_IDEMPOTENCY_KEY_BYTES = 1020;

export const MIGRATIONS: readonly MysqlMigration[] = [
  {
    version: 1,
    description: 'step_tracker, pod_health, step_events',
    statements: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.stepTracker} (
        step_id VARCHAR(64) NOT NULL,
        type VARCHAR(255) NOT NULL,
        args JSON NOT NULL,
        metadata JSON NOT NULL,
        priority INT NOT NULL DEFAULT 0,
        neg_priority BIGINT AS (-priority) STORED,
        status VARCHAR(16) NOT NULL,
        claimed_by VARCHAR(255) NULL,
        claim_token VARCHAR(64) NULL,
        attempt INT NOT NULL DEFAULT 0,
        retry_count INT NOT NULL DEFAULT 0,
        max_retries INT NOT NULL,
        release_count INT NOT NULL DEFAULT 0,
        run_after BIGINT NOT NULL,
        timeout_ms BIGINT NOT NULL,
        idempotency_key VARBINARY(${MAX_IDEMPOTENCY_KEY_BYTES}) NULL,
        last_error MEDIUMTEXT NULL,
        result JSON NULL,
        created_ts BIGINT NOT NULL,
        last_update_ts BIGINT NOT NULL,
        PRIMARY KEY (step_id),
        UNIQUE KEY ${n.index('st_idem_ux')} (type, idempotency_key),
        KEY ${n.index('st_claim_ix')} (status, neg_priority, created_ts, step_id),
        KEY ${n.index('st_due_ix')} (status, run_after),
        KEY ${n.index('st_holder_ix')} (status, claimed_by),
        KEY ${n.index('st_done_ix')} (status, last_update_ts, step_id),
        CONSTRAINT ${n.index('st_status_ck')} CHECK (${STATUS_CHECK}),
        CONSTRAINT ${n.index('st_counts_ck')} CHECK (attempt >= 0 AND retry_count >= 0 AND max_retries >= 0 AND release_count >= 0 AND timeout_ms > 0),
        CONSTRAINT ${n.index('st_holder_ck')} CHECK (status <> 'claimed' OR claimed_by IS NOT NULL)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${n.podHealth} (
        pod_id VARCHAR(255) NOT NULL,
        name VARCHAR(255) NOT NULL,
        birth_ts BIGINT NOT NULL,
        last_heartbeat_ts BIGINT NOT NULL,
        status VARCHAR(8) NOT NULL,
        meta JSON NOT NULL,
        PRIMARY KEY (pod_id),
        CONSTRAINT ${n.index('ph_status_ck')} CHECK (status IN ('up', 'down'))
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${n.stepEvents} (
        event_id BIGINT NOT NULL AUTO_INCREMENT,
        step_id VARCHAR(64) NOT NULL,
        ts BIGINT NOT NULL,
        kind VARCHAR(32) NOT NULL,
        pod_id VARCHAR(255) NULL,
        attempt INT NOT NULL,
        detail JSON NOT NULL,
        PRIMARY KEY (event_id),
        KEY ${n.index('se_step_ix')} (step_id, event_id),
        CONSTRAINT ${n.index('se_kind_ck')} CHECK (${KIND_CHECK})
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    description: 'step_events by kind and time, for activity over a recent window',
    statements: (n) => [`ALTER TABLE ${n.stepEvents} ADD INDEX ${n.index('se_kind_ts_ix')} (kind, ts)`],
  },
  {
    version: 3,
    description: 'workflow edges, declared parents and the gate on step_tracker',
    // Children are found by parent (sd_parent_ix); the declared parents and the gate (parents not
    // yet completed) ride on the row. Existing rows get no parents and an open gate, so a pod of the
    // previous build keeps working through a rolling upgrade.
    statements: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.stepDependencies} (
        step_id VARCHAR(64) NOT NULL,
        parent_step_id VARCHAR(64) NOT NULL,
        PRIMARY KEY (step_id, parent_step_id),
        KEY ${n.index('sd_parent_ix')} (parent_step_id, step_id)
      ) ${TABLE_OPTIONS}`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN depends_on JSON NULL`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN waiting_on INT NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 4,
    description: 'deadline and claimed_ts columns; claim order by deadline; flow-control and deadline indexes',
    // Claims order by (priority DESC, deadline with none last, created_ts, step_id). An index cannot
    // put NULLs last, so the stored `deadline_key` holds the deadline or the largest BIGINT, and
    // st_claim_deadline_ix serves the new order as st_claim_ix did the old one (which stays for a pod
    // of the previous build). claimed_ts is the start of a step's latest claim: flow-limited claims
    // count a type's claimed steps and recent starts (st_flow_ix); st_deadline_ix counts pending
    // steps past their deadline. Each statement is re-runnable: a column or index left by a stopped
    // migration is skipped.
    statements: (n) => [
      `ALTER TABLE ${n.stepTracker} ADD COLUMN deadline BIGINT NULL`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN claimed_ts BIGINT NULL`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN deadline_key BIGINT AS (COALESCE(deadline, 9223372036854775807)) STORED`,
      `ALTER TABLE ${n.stepTracker} ADD INDEX ${n.index('st_claim_deadline_ix')} (status, neg_priority, deadline_key, created_ts, step_id)`,
      `ALTER TABLE ${n.stepTracker} ADD INDEX ${n.index('st_flow_ix')} (type, status, claimed_ts)`,
      `ALTER TABLE ${n.stepTracker} ADD INDEX ${n.index('st_flow_started_ix')} (type, claimed_ts)`,
      `ALTER TABLE ${n.stepTracker} ADD INDEX ${n.index('st_deadline_ix')} (status, deadline)`,
    ],
  },
  {
    version: 5,
    description: "step control: status and event 'cancelled', step_tracker.progress",
    // One ALTER per table, so each table changes whole or not at all (MySQL DDL is not transactional).
    statements: (n) => [
      `ALTER TABLE ${n.stepTracker} DROP CONSTRAINT ${n.index('st_status_ck')},
        ADD CONSTRAINT ${n.index('st_status_ck')} CHECK (status IN ('pending', 'claimed', 'completed', 'failed', 'cancelled')),
        ADD COLUMN progress JSON NULL`,
      `ALTER TABLE ${n.stepEvents} DROP CONSTRAINT ${n.index('se_kind_ck')},
        ADD CONSTRAINT ${n.index('se_kind_ck')} CHECK (${KIND_CHECK.slice(0, -1)}, 'cancelled'))`,
    ],
  },
];

/** ER_DUP_KEYNAME: the index exists, left by a migration that stopped before recording its version. */
const DUPLICATE_KEY_NAME = 1061;
/**
 * ER_DUP_FIELDNAME: the column exists, likewise. Version 5 adds its column in the same ALTER as its
 * CHECK change, and one ALTER applies whole or not at all, so the column's presence means it all applied.
 */
const DUPLICATE_FIELD_NAME = 1060;

/** The newest schema this build knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** How long a migrating pod waits for another one's migration before giving up. */
const LOCK_WAIT_SECONDS = 120;

/**
 * Applies the missing migrations on `connection` (a dedicated connection the caller closes) under
 * the named lock. Throws `SchemaTooNewError`, having changed nothing, when the recorded version is
 * newer than the latest migration.
 */
export async function runMigrations(connection: mysql.Connection, n: MysqlNames, migrations: readonly MysqlMigration[] = MIGRATIONS): Promise<MigrateResult> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  // Lock names are server-wide and at most 64 characters: the database and prefix are hashed.
  const lockName = "CONCAT('fleet_q:', SHA1(CONCAT(DATABASE(), ?)))";
  const [locked] = await connection.query(`SELECT GET_LOCK(${lockName}, ?) AS got`, [n.migrationLockSuffix, LOCK_WAIT_SECONDS]);
  if ((locked as { got: number | null }[])[0]?.got !== 1) {
    throw new Error(`could not take the migration lock within ${LOCK_WAIT_SECONDS} s (another process is migrating)`);
  }
  try {
    const from = await readVersion(connection, n);
    if (from > latest) throw new SchemaTooNewError(from, latest);
    const pending = migrations.filter((m) => m.version > from).sort((a, b) => a.version - b.version);
    if (pending.length === 0) return { from, to: from };
    for (const migration of pending) {
      for (const statement of migration.statements(n)) {
        // MySQL DDL is not transactional: an index added just before a crash must not stop the re-run.
        await connection.query(statement).catch((err: { errno?: number }) => {
          if (err.errno !== DUPLICATE_KEY_NAME && err.errno !== DUPLICATE_FIELD_NAME) throw err;
        });
      }
      await connection.query(
        `INSERT INTO ${n.schemaVersion} (id, version, updated_ts) VALUES (1, ?, CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED))
         ON DUPLICATE KEY UPDATE version = VALUES(version), updated_ts = VALUES(updated_ts)`,
        [migration.version],
      );
    }
    return { from, to: latest };
  } finally {
    await connection.query(`SELECT RELEASE_LOCK(${lockName})`, [n.migrationLockSuffix]).catch(() => undefined);
  }
}

/**
 * The recorded version (0 for an empty database), creating the schema_version table only when
 * missing: a runtime user without the CREATE privilege can still run `migrate` against an
 * up-to-date database.
 */
async function readVersion(connection: mysql.Connection, n: MysqlNames): Promise<number> {
  const [found] = await connection.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [
    n.schemaVersionTable,
  ]);
  if (Number((found as { n: number }[])[0]?.n ?? 0) === 0) {
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ${n.schemaVersion} (
        id INT NOT NULL PRIMARY KEY,
        version INT NOT NULL,
        updated_ts BIGINT NOT NULL,
        CONSTRAINT ${n.index('sv_one_ck')} CHECK (id = 1)
      ) ${TABLE_OPTIONS}`,
    );
    return 0;
  }
  const [rows] = await connection.query(`SELECT version FROM ${n.schemaVersion} WHERE id = 1`);
  return (rows as { version: number }[])[0]?.version ?? 0;
}
