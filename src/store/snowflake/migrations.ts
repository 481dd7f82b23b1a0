/**
 * The Snowflake schema as numbered additive migrations, and the runner. Owns DDL and the
 * SCHEMA_VERSION row; must not hold queue statements (queries.ts) or open sessions itself.
 *
 * Snowflake has no advisory locks and DDL commits any open transaction, so migrations are
 * serialized by a lock row in SCHEMA_VERSION taken with a conditional UPDATE (UPDATE statements on
 * one table serialize; the loser updates nothing and waits). A lock older than LOCK_STALE_MS is
 * taken over (its holder died). Every DDL statement is `IF NOT EXISTS`, so a migration interrupted
 * half-way is completed by the next run. A database newer than this build is refused before
 * anything is changed.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SchemaTooNewError } from '../../errors.js';
import type { MigrateResult } from '../store.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import type { SfNames } from './names.js';
import { GATE_SLOTS } from './queries.gate.js';

/** One migration: its version and its statements (run in order). */
export interface SfMigration {
  readonly version: number;
  readonly description: string;
  statements(n: SfNames): readonly string[];
}

/**
 * Version 1. No PRIMARY KEY or UNIQUE: Snowflake standard tables do not enforce them, and the store
 * never relies on them (idempotency keys are kept unique through the gate, see gate.ts). The
 * `WRITE_TOKEN`/`EVENT_*` columns are the per-row outbox of the audit event a write owes. EVENT_ID
 * is an ORDER identity, so event ids grow in commit order as the audit replay needs.
 */
export const MIGRATIONS: readonly SfMigration[] = [
  {
    version: 1,
    description: 'STEP_TRACKER, POD_HEALTH, STEP_EVENTS',
    statements: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.stepTracker} (
        STEP_ID VARCHAR NOT NULL, TYPE VARCHAR NOT NULL, ARGS VARIANT, METADATA VARIANT, PRIORITY NUMBER(10, 0) NOT NULL,
        STATUS VARCHAR NOT NULL, CLAIMED_BY VARCHAR, CLAIM_TOKEN VARCHAR, ATTEMPT NUMBER(10, 0) NOT NULL,
        RETRY_COUNT NUMBER(10, 0) NOT NULL, MAX_RETRIES NUMBER(10, 0) NOT NULL, RELEASE_COUNT NUMBER(10, 0) NOT NULL,
        RUN_AFTER TIMESTAMP_LTZ NOT NULL, TIMEOUT_MS NUMBER(18, 0) NOT NULL, IDEMPOTENCY_KEY VARCHAR, LAST_ERROR VARCHAR,
        RESULT VARIANT, CREATED_TS TIMESTAMP_LTZ NOT NULL, LAST_UPDATE_TS TIMESTAMP_LTZ NOT NULL,
        WRITE_TOKEN VARCHAR, EVENT_KIND VARCHAR, EVENT_POD VARCHAR, EVENT_DETAIL VARIANT)`,
      `CREATE TABLE IF NOT EXISTS ${n.podHealth} (
        POD_ID VARCHAR NOT NULL, NAME VARCHAR NOT NULL, BIRTH_TS TIMESTAMP_LTZ NOT NULL,
        LAST_HEARTBEAT_TS TIMESTAMP_LTZ NOT NULL, STATUS VARCHAR NOT NULL, META VARIANT)`,
      `CREATE TABLE IF NOT EXISTS ${n.stepEvents} (
        EVENT_ID NUMBER(38, 0) AUTOINCREMENT START 1 INCREMENT 1 ORDER, STEP_ID VARCHAR NOT NULL, TS TIMESTAMP_LTZ NOT NULL,
        KIND VARCHAR NOT NULL, POD_ID VARCHAR, ATTEMPT NUMBER(10, 0) NOT NULL, DETAIL VARIANT, WRITE_TOKEN VARCHAR)`,
    ],
  },
  {
    version: 2,
    description: 'workflow edges and declared parents',
    // DEPENDS_ON (JSON text, NULL for a step without parents) lets the claim skip the parent check
    // for plain steps. The gate is not stored: every statement here is autocommit, so a counter
    // kept by completions could miss a child submitted in the same instant; the claim and the row
    // reads judge the parents' statuses instead (queries.ts). Existing rows get no parents.
    statements: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.stepDependencies} (STEP_ID VARCHAR NOT NULL, PARENT_STEP_ID VARCHAR NOT NULL)`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN IF NOT EXISTS DEPENDS_ON VARCHAR`,
    ],
  },
  {
    // DEADLINE orders claims within a priority (none last); CLAIMED_TS, the start of a step's latest
    // claim, lets a flow-limited claim count a type's recent starts. No indexes on standard tables.
    version: 3,
    description: 'DEADLINE and CLAIMED_TS columns',
    statements: (n) => [
      `ALTER TABLE ${n.stepTracker} ADD COLUMN IF NOT EXISTS DEADLINE TIMESTAMP_LTZ`,
      `ALTER TABLE ${n.stepTracker} ADD COLUMN IF NOT EXISTS CLAIMED_TS TIMESTAMP_LTZ`,
    ],
  },
  {
    // Snowflake enforces no CHECK, so the `cancelled` status and event need no DDL.
    version: 4,
    description: "step control: STEP_TRACKER.PROGRESS (status and event 'cancelled' need no DDL)",
    statements: (n) => [`ALTER TABLE ${n.stepTracker} ADD COLUMN IF NOT EXISTS PROGRESS VARIANT`],
  },
  {
    // The gate's slots are made here, once, and never inserted at run time: two pods inserting a
    // missing slot at once could make two rows of it (nothing unique is enforced), and two
    // transactions each updating a different copy would not exclude each other (gate.ts).
    version: 5,
    description: `STEP_GATE: ${GATE_SLOTS} slots serializing flow-limited claims and keyed submits`,
    statements: (n) => [
      `CREATE TABLE IF NOT EXISTS ${n.stepGate} (SLOT NUMBER(10, 0) NOT NULL, GATE_TOKEN VARCHAR)`,
      `INSERT INTO ${n.stepGate} (SLOT, GATE_TOKEN)
        SELECT column1, NULL FROM VALUES ${Array.from({ length: GATE_SLOTS }, (_, i) => `(${i})`).join(', ')}
        WHERE NOT EXISTS (SELECT 1 FROM ${n.stepGate})`,
    ],
  },
];

/** The newest schema this build knows. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** A migration lock older than this is taken over: its holder died mid-migration. */
const LOCK_STALE_MS = 10 * 60_000;
const LOCK_POLL_MS = 250;

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;
const plain = (sqlText: string, ...binds: (string | number)[]): Statement => ({ sqlText, binds });

/** The DDL `fleet-q migrate` runs, in order, for the README and operators who apply it by hand. */
export function migrationDdl(n: SfNames, migrations: readonly SfMigration[] = MIGRATIONS): string[] {
  return [...bootstrap(n), ...migrations.flatMap((m) => m.statements(n))];
}

function bootstrap(n: SfNames): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${n.schema}`,
    `CREATE TABLE IF NOT EXISTS ${n.schemaVersion} (ID NUMBER(10, 0) NOT NULL, VERSION NUMBER(10, 0) NOT NULL, UPDATED_TS TIMESTAMP_LTZ NOT NULL, LOCK_TOKEN VARCHAR, LOCKED_AT TIMESTAMP_LTZ)`,
  ];
}

/**
 * Applies the missing migrations through `run` (one session), under the lock row. Throws
 * `SchemaTooNewError`, having changed nothing, when the recorded version is newer than this build.
 */
export async function runMigrations(run: Run, n: SfNames, migrations: readonly SfMigration[] = MIGRATIONS): Promise<MigrateResult> {
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const version = async () =>
    Number((await run(plain(`SELECT COALESCE(MAX(VERSION), 0) AS V FROM ${n.schemaVersion}`), { idempotent: true })).rows[0]?.['V'] ?? 0);
  // A role without CREATE privileges can still run against an up-to-date schema: look first.
  const exists = await run(
    plain(`SELECT COUNT(*) AS N FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, n.schema, n.schemaVersion.split('.')[1]!),
    { idempotent: true },
  );
  if (Number(exists.rows[0]?.['N'] ?? 0) > 0) {
    const found = await version();
    if (found > latest) throw new SchemaTooNewError(found, latest);
    if (found === latest) return { from: found, to: found };
  }
  const [createSchema, createVersionTable] = bootstrap(n);
  // A role granted only CREATE TABLE on an existing schema may not be allowed CREATE SCHEMA, even
  // with IF NOT EXISTS: if that fails, the next statement says whether the schema is really missing.
  await run(plain(createSchema!), { idempotent: true }).catch(() => undefined);
  await run(plain(createVersionTable!), { idempotent: true });
  // The lock row: inserted once (a rare double insert is harmless: the UPDATE below takes every row).
  await run(
    plain(`INSERT INTO ${n.schemaVersion} (ID, VERSION, UPDATED_TS) SELECT 1, 0, CURRENT_TIMESTAMP() WHERE NOT EXISTS (SELECT 1 FROM ${n.schemaVersion})`),
  );
  const token = randomUUID();
  await acquire(run, n, token);
  try {
    const from = await version();
    if (from > latest) throw new SchemaTooNewError(from, latest);
    const pending = migrations.filter((m) => m.version > from).sort((a, b) => a.version - b.version);
    for (const m of pending) {
      for (const ddl of m.statements(n)) await run(plain(ddl), { idempotent: true });
    }
    if (pending.length > 0) await run(plain(`UPDATE ${n.schemaVersion} SET VERSION = ?, UPDATED_TS = CURRENT_TIMESTAMP()`, latest), { idempotent: true });
    return { from, to: Math.max(from, pending.length > 0 ? latest : from) };
  } finally {
    await run(plain(`UPDATE ${n.schemaVersion} SET LOCK_TOKEN = NULL, LOCKED_AT = NULL WHERE LOCK_TOKEN = ?`, token), { idempotent: true }).catch(
      () => undefined,
    );
  }
}

/** Takes the lock row for `token`, waiting while another live migrator holds it. */
async function acquire(run: Run, n: SfNames, token: string): Promise<void> {
  for (;;) {
    const taken = await run(
      plain(
        `UPDATE ${n.schemaVersion} SET LOCK_TOKEN = ?, LOCKED_AT = CURRENT_TIMESTAMP()
         WHERE LOCK_TOKEN IS NULL OR LOCKED_AT < DATEADD(millisecond, -${LOCK_STALE_MS}, CURRENT_TIMESTAMP())`,
        token,
      ),
    );
    if (taken.updated > 0) {
      // Every row must now carry our token: a row inserted by a racer after our UPDATE is taken too.
      const others = await run(plain(`SELECT COUNT(*) AS N FROM ${n.schemaVersion} WHERE LOCK_TOKEN IS NULL OR LOCK_TOKEN <> ?`, token), { idempotent: true });
      if (Number(others.rows[0]?.['N'] ?? 0) === 0) return;
    }
    await sleep(LOCK_POLL_MS);
  }
}
