/**
 * The SQLite schema as versioned, additive migrations (the only DDL of the driver) and the routine
 * that applies them. Owns table shapes and `schema_version`; the driver decides when to call
 * `applyMigrations` and wraps it in `BEGIN IMMEDIATE`, so processes starting at once take turns
 * and the second finds the work done.
 *
 * Tables are STRICT so an INTEGER epoch-ms column can never silently hold text (the mixed
 * text-timestamp failure mode of the reliability notes) and CHECK constraints pin every status.
 */
import { SchemaTooNewError } from '../../errors.js';
import type { TableNames } from '../schema.js';
import { STEP_EVENT_KINDS, STEP_STATUSES, type MigrateResult } from '../store.js';
import type { SqliteContext } from './context.js';

/** One schema version: the DDL that takes the file from `version − 1` to `version`. */
export interface SqliteMigration {
  readonly version: number;
  readonly description: string;
  readonly ddl: (t: TableNames) => string;
  /** Work DDL text cannot express, run before `ddl` in the same transaction. */
  readonly before?: (ctx: SqliteContext, t: TableNames) => void;
}

/** The sort key of a step without a deadline: after every real deadline (the largest INTEGER). */
export const NO_DEADLINE = '9223372036854775807';

const quoted = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

const v1: SqliteMigration = {
  version: 1,
  description: 'step_tracker, pod_health, step_events and their indexes',
  ddl: (t) => `
    CREATE TABLE IF NOT EXISTS ${t.stepTracker} (
      step_id         TEXT    PRIMARY KEY NOT NULL CHECK (step_id LIKE 'step\\_%' ESCAPE '\\'),
      type            TEXT    NOT NULL,
      args            TEXT    NOT NULL,
      metadata        TEXT    NOT NULL DEFAULT '{}',
      priority        INTEGER NOT NULL DEFAULT 0,
      status          TEXT    NOT NULL CHECK (status IN (${quoted(STEP_STATUSES)})),
      claimed_by      TEXT,
      claim_token     TEXT,
      attempt         INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
      retry_count     INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
      max_retries     INTEGER NOT NULL CHECK (max_retries >= 0),
      release_count   INTEGER NOT NULL DEFAULT 0 CHECK (release_count >= 0),
      run_after       INTEGER NOT NULL,
      timeout_ms      INTEGER NOT NULL CHECK (timeout_ms > 0),
      idempotency_key TEXT,
      last_error      TEXT,
      result          TEXT,
      created_ts      INTEGER NOT NULL,
      last_update_ts  INTEGER NOT NULL,
      CHECK (status <> 'claimed' OR claimed_by IS NOT NULL)
    ) STRICT;
    -- Due-work checks (the watcher's probe, min(run_after)) range-scan run_after here.
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_claim_idx
      ON ${t.stepTracker} (status, run_after, priority DESC, created_ts, step_id);
    -- The claim walks pending rows in claim order and stops after LIMIT matches; run_after and type
    -- ride along so the filter needs no table lookup. Measured with 40,000 due steps: 20 ms per
    -- claim of 10 through claim_idx (it sorts every due row) against 1.5 ms here; with 40,000
    -- delayed and none due this costs 1.9 ms, paid only by idle polls.
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_claim_order_idx
      ON ${t.stepTracker} (priority DESC, created_ts, step_id, run_after, type) WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_claimed_by_idx ON ${t.stepTracker} (claimed_by);
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_updated_idx ON ${t.stepTracker} (status, last_update_ts, step_id);
    -- SQLite treats NULLs as distinct in a unique index, so steps without a key never collide.
    CREATE UNIQUE INDEX IF NOT EXISTS ${t.stepTracker}_idempotency_idx ON ${t.stepTracker} (type, idempotency_key);

    CREATE TABLE IF NOT EXISTS ${t.podHealth} (
      pod_id            TEXT    PRIMARY KEY NOT NULL,
      name              TEXT    NOT NULL,
      birth_ts          INTEGER NOT NULL,
      last_heartbeat_ts INTEGER NOT NULL,
      status            TEXT    NOT NULL CHECK (status IN ('up', 'down')),
      meta              TEXT    NOT NULL DEFAULT '{}'
    ) STRICT;

    -- AUTOINCREMENT: event ids are never reused after pruning, so "events after id N" cursors stay valid.
    CREATE TABLE IF NOT EXISTS ${t.stepEvents} (
      event_id INTEGER PRIMARY KEY AUTOINCREMENT,
      step_id  TEXT    NOT NULL,
      ts       INTEGER NOT NULL,
      kind     TEXT    NOT NULL CHECK (kind IN (${quoted(STEP_EVENT_KINDS)})),
      pod_id   TEXT,
      attempt  INTEGER NOT NULL,
      detail   TEXT    NOT NULL DEFAULT '{}'
    ) STRICT;
    CREATE INDEX IF NOT EXISTS ${t.stepEvents}_step_idx ON ${t.stepEvents} (step_id, event_id);

    CREATE TABLE IF NOT EXISTS ${t.schemaVersion} (
      id         INTEGER PRIMARY KEY CHECK (id = 1),
      version    INTEGER NOT NULL,
      updated_ts INTEGER NOT NULL
    ) STRICT;
  `,
};

/**
 * Claims that stay flat however many steps wait for a later run_after. claim_order_idx walks past
 * every delayed step that sorts before the first due one (with 100,000 delayed steps, every claim and
 * every idle poll); claim_idx sorts every due row. A step whose run_after is not after its creation
 * (every plain submit) is due from birth, so ready_idx holds it in claim order with no time filter;
 * the rest (delays, retries, releases, replays) sit in delayed_idx by run_after, and the few now due
 * are sorted. Additive: the version 1 indexes stay, so a pod of the previous build keeps working
 * through a rolling upgrade.
 */
const v2: SqliteMigration = {
  version: 2,
  description: 'claim indexes that split never-delayed from delayed pending steps',
  ddl: (t) => `
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_ready_idx
      ON ${t.stepTracker} (priority DESC, created_ts, step_id, run_after, type) WHERE status = 'pending' AND run_after <= created_ts;
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_delayed_idx
      ON ${t.stepTracker} (run_after, priority DESC, created_ts, step_id, type) WHERE status = 'pending' AND run_after > created_ts;
  `,
};

const v3: SqliteMigration = {
  version: 3,
  description: 'step_events by kind and time, for activity over a recent window',
  ddl: (t) => `CREATE INDEX IF NOT EXISTS ${t.stepEvents}_kind_ts_idx ON ${t.stepEvents} (kind, ts);`,
};

/**
 * Workflows: the edges (children found by parent through the primary key's twin index), the
 * parents a step declared (read with the row, so a handler's `ctx.parents` costs a read only for
 * steps that have parents) and the gate, the number of parents not yet completed. Existing rows get
 * no parents and an open gate, so a pod of the previous build keeps working through a rolling upgrade.
 */
const v4: SqliteMigration = {
  version: 4,
  description: 'workflow edges, declared parents and the gate on step_tracker',
  ddl: (t) => `
    CREATE TABLE IF NOT EXISTS ${t.stepDependencies} (
      step_id        TEXT NOT NULL,
      parent_step_id TEXT NOT NULL,
      PRIMARY KEY (step_id, parent_step_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t.stepDependencies}_parent_idx ON ${t.stepDependencies} (parent_step_id, step_id);
    ALTER TABLE ${t.stepTracker} ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE ${t.stepTracker} ADD COLUMN waiting_on INTEGER NOT NULL DEFAULT 0 CHECK (waiting_on >= 0);
  `,
};

/**
 * Deadlines and flow control. `deadline` (epoch ms, null: none) orders claims within a priority;
 * SQLite sorts NULL first and an index cannot say NULLS LAST, so the claim orders by
 * `COALESCE(deadline, NO_DEADLINE)` and ready_deadline_idx holds that expression in claim order
 * (it replaces ready_idx for claims; ready_idx stays for a pod of the previous build). It carries
 * the gate (`waiting_on`, version 4) as a column, so the claim's walk stays index-only (with the gate
 * in the index's WHERE instead, SQLite no longer treats the index as covering).
 * `claimed_ts` (the latest claim's start) feeds rate limits; flow_claimed_idx and flow_started_idx
 * let a limited claim count a type's claimed steps and recent starts without a scan, and
 * deadline_idx counts the pending steps past their deadline.
 */
const v5: SqliteMigration = {
  version: 5,
  description: 'deadline and claimed_ts columns; claim order by deadline; flow-control and deadline indexes',
  ddl: (t) => `
    ALTER TABLE ${t.stepTracker} ADD COLUMN deadline INTEGER;
    ALTER TABLE ${t.stepTracker} ADD COLUMN claimed_ts INTEGER;
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_ready_deadline_idx
      ON ${t.stepTracker} (priority DESC, COALESCE(deadline, ${NO_DEADLINE}), created_ts, step_id, run_after, type, deadline, waiting_on)
      WHERE status = 'pending' AND run_after <= created_ts;
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_flow_claimed_idx ON ${t.stepTracker} (type) WHERE status = 'claimed';
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_flow_started_idx ON ${t.stepTracker} (type, claimed_ts) WHERE claimed_ts IS NOT NULL;
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_deadline_idx ON ${t.stepTracker} (deadline) WHERE status = 'pending' AND deadline IS NOT NULL;
  `,
};

/**
 * Step control: the `cancelled` status and event, and the handler's `progress`. SQLite cannot alter
 * a CHECK constraint, so `widenCheck` rebuilds each table from its own stored definition with the
 * list widened (columns other migrations added come along unchanged); a database created by this
 * build already allows `cancelled` and skips the rebuild.
 */
const v6: SqliteMigration = {
  version: 6,
  description: "step control: status and event 'cancelled', step_tracker.progress",
  ddl: (t) => `ALTER TABLE ${t.stepTracker} ADD COLUMN progress TEXT;`,
  before: (ctx, t) => {
    widenCheck(ctx, t.stepTracker, "'failed')", "'failed', 'cancelled')");
    widenCheck(ctx, t.stepEvents, "'stale_write_rejected')", "'stale_write_rejected', 'cancelled')");
  },
};

/**
 * Delayed pending steps in claim order, carrying what the claim's filter reads, like
 * ready_deadline_idx: when thousands of delayed steps fall due together, a claim walks this index
 * and stops at the first due ones instead of sorting every due step (queries.ts, claimSql).
 */
const v7: SqliteMigration = {
  version: 7,
  description: 'delayed pending steps in claim order',
  ddl: (t) => `
    CREATE INDEX IF NOT EXISTS ${t.stepTracker}_delayed_order_idx
      ON ${t.stepTracker} (priority DESC, COALESCE(deadline, ${NO_DEADLINE}), created_ts, step_id, run_after, type, deadline, waiting_on)
      WHERE status = 'pending' AND run_after > created_ts;
  `,
};

/** Every migration this build knows, in order; append only. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [v1, v2, v3, v4, v5, v6, v7];

/**
 * Rebuilds `table` with `from` replaced by `to` in its CHECK text (the procedure of SQLite's
 * "ALTER TABLE" page: new table, copy, drop, rename, indexes re-created from their stored SQL).
 * A no-op when the definition already holds `to`. Keeps an AUTOINCREMENT table's sequence, so
 * event ids are never reused.
 */
function widenCheck(ctx: SqliteContext, table: string, from: string, to: string): void {
  const def = ctx.statement('catalogTableSql').pluck().get({ name: table }) as string | undefined;
  if (def === undefined || def.includes(to) || !def.includes(from)) return;
  const indexes = ctx.statement('catalogIndexSql').pluck().all({ name: table }) as string[];
  // sqlite_sequence exists from version 1 on (step_events is AUTOINCREMENT).
  const seq = ctx.statement('sequenceRead').pluck().get({ name: table }) as number | undefined;
  const scratch = `${table}_v6_rebuild`;
  const head = /^CREATE TABLE\s+(?:IF NOT EXISTS\s+)?("?)[A-Za-z0-9_]+\1/i;
  ctx.db.exec(def.replace(head, `CREATE TABLE ${scratch}`).split(from).join(to));
  ctx.db.exec(`INSERT INTO ${scratch} SELECT * FROM ${table}; DROP TABLE ${table}; ALTER TABLE ${scratch} RENAME TO ${table};`);
  for (const sql of indexes) ctx.db.exec(sql);
  if (seq !== undefined) ctx.statement('sequenceRaise').run({ name: table, seq });
}

/** The newest schema version this build knows. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]!.version;

/** The file's recorded schema version; 0 for a file never migrated. Reads only. */
export function readSchemaVersion(ctx: SqliteContext, names: TableNames): number {
  const present = ctx.statement('schemaVersionTableExists').get({ name: names.schemaVersion });
  if (present === undefined) return 0;
  const row = ctx.statement('schemaVersionRead').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/**
 * Applies the migrations the file lacks. Call inside one `BEGIN IMMEDIATE` transaction: a throw
 * (e.g. `SchemaTooNewError`, raised before any write) rolls everything back.
 */
export function applyMigrations(ctx: SqliteContext, names: TableNames, now: number): MigrateResult {
  const from = readSchemaVersion(ctx, names);
  if (from > SQLITE_SCHEMA_VERSION) throw new SchemaTooNewError(from, SQLITE_SCHEMA_VERSION);
  if (from === SQLITE_SCHEMA_VERSION) return { from, to: from };
  for (const migration of SQLITE_MIGRATIONS) {
    if (migration.version > from) {
      migration.before?.(ctx, names);
      ctx.db.exec(migration.ddl(names));
    }
  }
  ctx.statement('schemaVersionWrite').run({ version: SQLITE_SCHEMA_VERSION, now });
  return { from, to: SQLITE_SCHEMA_VERSION };
}
