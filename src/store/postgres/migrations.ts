/**
 * The PostgreSQL schema, as numbered additive migrations, and the runner that applies them. Owns DDL
 * and the schema_version row; must not hold queue logic (queries.ts) or open connections itself.
 *
 * Many pods may start at once against an empty database, so the runner takes a transaction-scoped
 * advisory lock keyed by schema + prefix: the first applies the migrations, the others wait and
 * then find nothing to do. DDL is transactional in PostgreSQL, so a failed migration leaves nothing
 * half-applied, and a database newer than this build is refused before anything is written.
 */
import type pg from 'pg';
import { SchemaTooNewError } from '../../errors.js';
import type { MigrateResult } from '../store.js';
import { quoteLiteral, type PgNames } from './names.js';

/** One migration: its version and its statements (run in order, in the runner's transaction). */
export interface PgMigration {
  readonly version: number;
  readonly description: string;
  statements(n: PgNames): readonly string[];
}

const STATUS_CHECK = "status IN ('pending', 'claimed', 'completed', 'failed')";
const STATUS_CHECK_V4 = "status IN ('pending', 'claimed', 'completed', 'failed', 'cancelled')";
const KIND_CHECK_V4 =
  "kind IN ('submitted', 'claimed', 'completed', 'retried', 'recovered', 'dead_lettered', 'released', 'replayed', 'stale_write_rejected', 'cancelled')";
const KIND_CHECK = "kind IN ('submitted', 'claimed', 'completed', 'retried', 'recovered', 'dead_lettered', 'released', 'replayed', 'stale_write_rejected')";

/**
 * Ids, types and keys use the "C" collation: byte order, so `ORDER BY step_id` is creation order as
 * the ids promise and ties sort the same as in JavaScript, whatever the database locale.
 */
export const MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'step_tracker, pod_health, step_events',
    statements: (n) => [
      `CREATE TABLE ${n.stepTracker} (
        step_id text COLLATE "C" PRIMARY KEY,
        type text COLLATE "C" NOT NULL,
        args jsonb NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        priority integer NOT NULL DEFAULT 0,
        status text NOT NULL CHECK (${STATUS_CHECK}),
        claimed_by text COLLATE "C",
        claim_token text,
        attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
        retry_count integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
        max_retries integer NOT NULL CHECK (max_retries >= 0),
        release_count integer NOT NULL DEFAULT 0 CHECK (release_count >= 0),
        run_after timestamptz NOT NULL,
        timeout_ms bigint NOT NULL CHECK (timeout_ms > 0),
        idempotency_key text COLLATE "C",
        last_error text,
        result jsonb,
        created_ts timestamptz NOT NULL,
        last_update_ts timestamptz NOT NULL,
        CHECK (status <> 'claimed' OR claimed_by IS NOT NULL)
      ) WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)`,
      // fillfactor 80 leaves room on each page for HOT updates: a step row is rewritten 3–4 times in
      // its life, and the low vacuum scale factors keep dead tuples from piling up under churn.
      `CREATE UNIQUE INDEX ${n.index('st_idem_ux')} ON ${n.stepTracker} (type, idempotency_key)`,
      `CREATE INDEX ${n.index('st_pending_ix')} ON ${n.stepTracker} (priority DESC, created_ts, step_id) WHERE status = 'pending'`,
      `CREATE INDEX ${n.index('st_due_ix')} ON ${n.stepTracker} (run_after) WHERE status = 'pending'`,
      `CREATE INDEX ${n.index('st_claimed_ix')} ON ${n.stepTracker} (claimed_by) WHERE status = 'claimed'`,
      `CREATE INDEX ${n.index('st_done_ix')} ON ${n.stepTracker} (status, last_update_ts DESC, step_id DESC) WHERE status IN ('completed', 'failed')`,
      `CREATE TABLE ${n.podHealth} (
        pod_id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        birth_ts timestamptz NOT NULL,
        last_heartbeat_ts timestamptz NOT NULL,
        status text NOT NULL CHECK (status IN ('up', 'down')),
        meta jsonb NOT NULL DEFAULT '{}'::jsonb
      )`,
      `CREATE TABLE ${n.stepEvents} (
        event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        step_id text COLLATE "C" NOT NULL,
        ts timestamptz NOT NULL,
        kind text NOT NULL CHECK (${KIND_CHECK}),
        pod_id text COLLATE "C",
        attempt integer NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb
      )`,
      `CREATE INDEX ${n.index('se_step_ix')} ON ${n.stepEvents} (step_id, event_id)`,
    ],
  },
  {
    version: 2,
    description: 'claim indexes that split never-delayed from delayed pending steps; retention index',
    // A claim wants the first n due steps in (priority DESC, created_ts, step_id) order, but no one
    // B-tree serves both that order and `run_after <= now`: st_pending_ix walks past every delayed
    // row that sorts first (20,000 delayed rows: ~13 ms a claim), st_due_ix sorts every due row.
    // A step whose run_after is not after its creation (every plain submit) is due from birth, so
    // its index needs no time filter; the others (delays, retries, releases, replays) are found by
    // run_after and are few once due, since pods claim them. Rows move between the two partial
    // indexes as UPDATEs change run_after. Additive: the version 1 indexes stay for older builds.
    statements: (n) => [
      `CREATE INDEX ${n.index('st_ready_ix')} ON ${n.stepTracker} (priority DESC, created_ts, step_id) WHERE status = 'pending' AND run_after <= created_ts`,
      `CREATE INDEX ${n.index('st_delayed_ix')} ON ${n.stepTracker} (run_after) WHERE status = 'pending' AND run_after > created_ts`,
      // Retention deletes the oldest terminal rows in chunks; st_done_ix leads with status, so
      // "oldest first across completed and failed" would sort every expired row for each chunk.
      `CREATE INDEX ${n.index('st_expired_ix')} ON ${n.stepTracker} (last_update_ts) WHERE status IN ('completed', 'failed')`,
    ],
  },
  {
    version: 3,
    description: 'step_events by kind and time, for activity over a recent window',
    statements: (n) => [`CREATE INDEX ${n.index('se_kind_ts_ix')} ON ${n.stepEvents} (kind, ts)`],
  },
  {
    version: 4,
    description: 'workflow edges, declared parents and the gate on step_tracker',
    // Children are found by parent (sd_parent_ix); the gate (parents not yet completed) and the
    // declared parents ride on the row. Existing rows get no parents and an open gate, so a pod of
    // the previous build keeps working through a rolling upgrade (ADD COLUMN with a constant
    // default rewrites nothing).
    statements: (n) => [
      `CREATE TABLE ${n.stepDependencies} (
        step_id text NOT NULL,
        parent_step_id text NOT NULL,
        PRIMARY KEY (step_id, parent_step_id)
      )`,
      `CREATE INDEX ${n.index('sd_parent_ix')} ON ${n.stepDependencies} (parent_step_id, step_id)`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN depends_on jsonb NOT NULL DEFAULT '[]'::jsonb`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN waiting_on int4 NOT NULL DEFAULT 0 CHECK (waiting_on >= 0)`,
    ],
  },
  {
    version: 5,
    description: 'deadline and claimed_ts columns; claim order by deadline; flow-control and deadline indexes',
    // Claims order by (priority DESC, deadline, created_ts, step_id); an ascending B-tree puts NULLs
    // last, as "no deadline last" wants, so st_ready_deadline_ix serves that order as st_ready_ix did
    // the old one (st_ready_ix stays for a pod of the previous build). claimed_ts is the start of a
    // step's latest claim: flow-limited claims count a type's claimed steps (st_flow_claimed_ix) and
    // recent starts (st_flow_started_ix); st_deadline_ix counts pending steps past their deadline.
    statements: (n) => [
      `ALTER TABLE ${n.stepTracker} ADD COLUMN deadline timestamptz, ADD COLUMN claimed_ts timestamptz`,
      `CREATE INDEX ${n.index('st_ready_deadline_ix')} ON ${n.stepTracker} (priority DESC, deadline, created_ts, step_id) WHERE status = 'pending' AND run_after <= created_ts`,
      `CREATE INDEX ${n.index('st_flow_claimed_ix')} ON ${n.stepTracker} (type) WHERE status = 'claimed'`,
      `CREATE INDEX ${n.index('st_flow_started_ix')} ON ${n.stepTracker} (type, claimed_ts) WHERE claimed_ts IS NOT NULL`,
      `CREATE INDEX ${n.index('st_deadline_ix')} ON ${n.stepTracker} (deadline) WHERE status = 'pending' AND deadline IS NOT NULL`,
    ],
  },
  {
    version: 6,
    description: "step control: status and event 'cancelled', step_tracker.progress",
    // Version 1's CHECKs are unnamed, so their names are looked up (PostgreSQL names them after the
    // table, truncated for long prefixes) and replaced by named ones that allow 'cancelled'.
    statements: (n) => [
      dropChecksMentioning(n.stepTracker, "'failed'"),
      `ALTER TABLE ${n.stepTracker} ADD CONSTRAINT ${n.index('st_status_ck')} CHECK (${STATUS_CHECK_V4})`,
      dropChecksMentioning(n.stepEvents, "'stale_write_rejected'"),
      `ALTER TABLE ${n.stepEvents} ADD CONSTRAINT ${n.index('se_kind_ck')} CHECK (${KIND_CHECK_V4})`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN progress jsonb`,
      // Retention now deletes cancelled steps too; st_expired_ix covers only completed and failed.
      `CREATE INDEX ${n.index('st_terminal_ix')} ON ${n.stepTracker} (last_update_ts) WHERE status IN ('completed', 'failed', 'cancelled')`,
    ],
  },
  {
    version: 7,
    description: 'delayed pending steps in claim order',
    // A claim sorts every due delayed step to take the first few in claim order: cheap for the few a
    // retry backlog usually holds, but 20,000 steps falling due together cost each claim ~15 ms. Past
    // a thousand due, the claim walks this index in claim order instead (queries.ts, claimSql).
    statements: (n) => [
      `CREATE INDEX ${n.index('st_delayed_order_ix')} ON ${n.stepTracker} (priority DESC, deadline, created_ts, step_id) WHERE status = 'pending' AND run_after > created_ts`,
    ],
  },
];

/** Drops every CHECK constraint of `table` whose definition mentions `literal`. */
function dropChecksMentioning(table: string, literal: string): string {
  const pattern = `%${literal.replace(/'/g, "''")}%`;
  return `DO $fleet_q$ DECLARE c record; BEGIN
    FOR c IN SELECT conname FROM pg_constraint
      WHERE conrelid = '${table.replace(/'/g, "''")}'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '${pattern}'
    LOOP
      EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', '${table.replace(/'/g, "''")}', c.conname);
    END LOOP;
  END $fleet_q$`;
}

/** The newest schema this build knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Applies the missing migrations on `client` (a dedicated connection the caller releases), all in
 * one transaction under the advisory lock. Throws `SchemaTooNewError` after rolling back, having
 * changed nothing, when the recorded version is newer than `LATEST_VERSION`.
 */
export async function runMigrations(client: pg.ClientBase, n: PgNames, migrations: readonly PgMigration[] = MIGRATIONS): Promise<MigrateResult> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  // One round trip: the lock is taken before anything is read, so the version read below is final.
  // DDL may take longer than the runtime statement_timeout on a large table; 0 lifts it here only.
  await client.query(
    `BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0;
     SELECT pg_advisory_xact_lock(hashtextextended(${quoteLiteral(n.migrationLockText)}, 0))`,
  );
  try {
    const from = await readVersion(client, n);
    if (from > latest) throw new SchemaTooNewError(from, latest);
    const pending = migrations.filter((m) => m.version > from).sort((a, b) => a.version - b.version);
    if (pending.length === 0) {
      await client.query('ROLLBACK');
      return { from, to: from };
    }
    const statements = pending.flatMap((m) => m.statements(n));
    statements.push(
      `INSERT INTO ${n.schemaVersion} (id, version, updated_ts) VALUES (1, ${latest}, clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, updated_ts = EXCLUDED.updated_ts`,
    );
    await client.query(`${statements.join(';\n')};\nCOMMIT`);
    return { from, to: latest };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The recorded version (0 for an empty schema), creating the schema and the schema_version table
 * only when missing: a runtime role without the CREATE privilege (which even `… IF NOT EXISTS`
 * checks) can still run `migrate` against an up-to-date database.
 */
async function readVersion(client: pg.ClientBase, n: PgNames): Promise<number> {
  const found = await client.query<{ has_schema: boolean; has_table: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS has_schema, to_regclass($2) IS NOT NULL AS has_table',
    [n.schema, n.schemaVersion],
  );
  const row = found.rows[0];
  if (row?.has_table !== true) {
    const setup = [
      ...(row?.has_schema === true ? [] : [`CREATE SCHEMA ${n.schemaQuoted}`]),
      `CREATE TABLE ${n.schemaVersion} (
        id integer PRIMARY KEY CHECK (id = 1),
        version integer NOT NULL,
        updated_ts timestamptz NOT NULL
      )`,
    ];
    await client.query(setup.join(';\n'));
    return 0;
  }
  const result = await client.query<{ version: number }>(`SELECT version FROM ${n.schemaVersion} WHERE id = 1`);
  return result.rows[0]?.version ?? 0;
}
