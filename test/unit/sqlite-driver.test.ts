/**
 * SQLite driver matters the shared conformance suite cannot see: pragmas, the file's permissions,
 * the physical schema (names, STRICT, CHECK constraints), migrations under concurrency and a newer
 * schema, and batch speed. Uses real files in temp dirs and a raw better-sqlite3 connection to
 * inspect them.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchemaTooNewError, ValidationError } from '../../src/errors.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { sqliteQueries } from '../../src/store/sqlite/queries.js';
import { tableNames } from '../../src/store/schema.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };

let dir: string;
let path: string;
const opened: SqliteStore[] = [];
const raws: Database.Database[] = [];

async function open(options: { tablePrefix?: string; busyTimeoutMs?: number } = {}): Promise<SqliteStore> {
  const store = await openSqliteStore({ path, policy: POLICY, ...options });
  opened.push(store);
  return store;
}

function raw(): Database.Database {
  const db = new Database(path);
  raws.push(db);
  return db;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-driver-'));
  path = join(dir, 'queue.db');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  for (const db of raws.splice(0)) db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('opening a file', () => {
  it('sets WAL, synchronous=NORMAL and the short busy timeout, and reports its capabilities', async () => {
    const store = await open({ busyTimeoutMs: 25 });
    expect(store.connectionSettings()).toEqual({ journalMode: 'wal', synchronous: 1, busyTimeoutMs: 25, walAutocheckpointPages: 1000 });
    expect(store.capabilities).toEqual({ kind: 'sqlite', pushNotifications: false });
    // WAL is a property of the file: a fresh connection sees it too.
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('creates the file readable by its owner only', async () => {
    await open();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('does not migrate on open', async () => {
    const store = await open();
    const tables = raw().prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all();
    expect(tables).toEqual([]);
    expect(await store.migrate()).toEqual({ from: 0, to: SQLITE_SCHEMA_VERSION });
  });

  it('upgrades a version 1 file holding steps: adds the claim indexes, and the steps stay claimable in order', async () => {
    const db = raw();
    db.exec(SQLITE_MIGRATIONS[0]!.ddl(tableNames()));
    db.prepare('INSERT INTO schema_version (id, version, updated_ts) VALUES (1, 1, 0)').run();
    // Rows as a version 1 build wrote them (this build's submit writes columns version 1 lacks).
    const insert = db.prepare(`INSERT INTO step_tracker (step_id, type, args, status, max_retries, run_after, timeout_ms, created_ts, last_update_ts)
      VALUES (?, 'echo', '{}', 'pending', 1, ?, 1000, ?, ?)`);
    const delayed = { stepId: 'step_01' };
    const ready = { stepId: 'step_02' };
    insert.run(delayed.stepId, 1_005, 1_000, 1_000);
    insert.run(ready.stepId, 1_001, 1_001, 1_001);
    const store = await open();
    expect(await store.migrate()).toEqual({ from: 1, to: SQLITE_SCHEMA_VERSION });
    const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all();
    expect(indexes).toEqual(expect.arrayContaining(['step_tracker_ready_idx', 'step_tracker_delayed_idx', 'step_tracker_claim_order_idx']));
    await store.podRegister({
      podId: 'alpha-00000001',
      name: 'alpha',
      meta: { max_parallelism: 2, capacity: 2, in_flight: 0, version: 't', host: 'h' },
      now: 1_000,
    });
    const claimed = await store.stepClaim({ podId: 'alpha-00000001', types: ['echo'], limit: 5, now: 2_000 });
    expect(claimed.map((r) => r.stepId)).toEqual([delayed.stepId, ready.stepId]);
  });

  it("upgrades a version 3 file of an earlier build to allow 'cancelled', keeping rows, event ids and indexes", async () => {
    const db = raw();
    // Version 1 of earlier builds listed the statuses and event kinds without 'cancelled'.
    const earlier = (ddl: string) => ddl.split(", 'cancelled')").join(')');
    for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) db.exec(earlier(m.ddl(tableNames())));
    db.prepare('INSERT INTO schema_version (id, version, updated_ts) VALUES (1, 3, 0)').run();
    expect(() => db.prepare(`INSERT INTO step_events (step_id, ts, kind, attempt) VALUES ('step_x', 0, 'cancelled', 0)`).run()).toThrow(/CHECK/);
    // Rows as a version 3 build wrote them (this build's submit writes columns version 3 lacks).
    const insertStep = db.prepare(`INSERT INTO step_tracker (step_id, type, args, status, max_retries, run_after, timeout_ms, created_ts, last_update_ts)
      VALUES (?, 'echo', ?, 'pending', 1, ?, 1000, ?, ?)`);
    const insertEvent = db.prepare(`INSERT INTO step_events (step_id, ts, kind, attempt, detail) VALUES (?, ?, 'submitted', 0, '{}')`);
    const first = { stepId: 'step_01' };
    const second = { stepId: 'step_02' };
    insertStep.run(first.stepId, '{"n":1}', 1_000, 1_000, 1_000);
    insertEvent.run(first.stepId, 1_000);
    insertStep.run(second.stepId, '{"n":2}', 1_001, 1_001, 1_001);
    insertEvent.run(second.stepId, 1_001);
    const store = await open();
    // Pruned events leave the AUTOINCREMENT sequence ahead of the table's largest id.
    db.prepare(`UPDATE sqlite_sequence SET seq = 40 WHERE name = 'step_events'`).run();
    const indexesBefore = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).pluck().all();
    const eventsBefore = await store.eventList({});

    expect(await store.migrate()).toEqual({ from: 3, to: SQLITE_SCHEMA_VERSION });
    const indexesAfter = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).pluck().all();
    // Every index survives the rebuild; later versions add their own.
    expect(indexesAfter).toEqual(expect.arrayContaining(indexesBefore as string[]));
    expect(await store.eventList({})).toEqual(eventsBefore);
    expect(await store.stepGet({ stepId: first.stepId })).toMatchObject({ status: 'pending', args: { n: 1 }, progress: null });
    const cancelled = await store.stepCancel({ stepId: second.stepId, now: 2_000 });
    expect(cancelled.step.status).toBe('cancelled');
    const [event] = (await store.eventList({ stepId: second.stepId })).filter((e) => e.kind === 'cancelled');
    expect(event!.eventId).toBe(41);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'step_tracker'`).pluck().get()).toMatch(/STRICT$/);
  });

  it('close is idempotent and stops the store', async () => {
    const store = await open();
    await store.migrate();
    await store.close();
    await store.close();
    await expect(store.stepGet({ stepId: 'step_x' })).rejects.toMatchObject({ code: 'database_error', errorClass: 'fatal' });
  });
});

describe('schema', () => {
  it('creates the tables and columns of DESIGN §2 under the prefix', async () => {
    const store = await open({ tablePrefix: 'fq_' });
    await store.migrate();
    const db = raw();
    const columns = (table: string) => db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).pluck().all(table);
    expect(columns('fq_step_tracker')).toEqual([
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
      'created_ts',
      'last_update_ts',
      'depends_on',
      'waiting_on',
      'deadline',
      'claimed_ts',
      'progress', // migration 6: step control
    ]);
    expect(columns('fq_step_dependencies')).toEqual(['step_id', 'parent_step_id']);
    expect(columns('fq_pod_health')).toEqual(['pod_id', 'name', 'birth_ts', 'last_heartbeat_ts', 'status', 'meta']);
    expect(columns('fq_step_events')).toEqual(['event_id', 'step_id', 'ts', 'kind', 'pod_id', 'attempt', 'detail']);
    expect(db.prepare(`SELECT version FROM fq_schema_version`).pluck().get()).toBe(SQLITE_SCHEMA_VERSION);
    expect(columns('step_tracker')).toEqual([]);
  });

  it('claims by walking never-delayed steps in claim order and searching delayed ones by run_after, with no table scan', async () => {
    const store = await open();
    await store.migrate();
    const claim = sqliteQueries(tableNames()).stepClaim;
    const plan = (raw().prepare(`EXPLAIN QUERY PLAN ${claim}`).all({ podId: 'p', types: '["echo"]', limit: 5, now: 0 }) as { detail: string }[])
      .map((p) => p.detail)
      .join('\n');
    // The ready list comes in claim order (no sort between its scan and the UNION ALL); only the
    // due delayed steps (read from the table for their deadline), and the at most 2 × limit
    // candidates, are sorted.
    const ready = /SCAN step_tracker USING COVERING INDEX step_tracker_ready_deadline_idx\n([^]*?)UNION ALL/.exec(plan);
    expect(ready, plan).not.toBeNull();
    expect(ready![1]).not.toMatch(/TEMP B-TREE/);
    expect(plan).toMatch(/SEARCH step_tracker USING INDEX step_tracker_delayed_idx \(run_after<\?\)/);
    expect(plan).not.toMatch(/SCAN step_tracker(?! USING)|claim_order_idx/);
  });

  it('refuses rows that break the CHECK constraints and text in time columns', async () => {
    const store = await open();
    await store.migrate();
    const { stepId } = await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 });
    const db = raw();
    expect(() => db.prepare(`UPDATE step_tracker SET status = 'dead_letter' WHERE step_id = ?`).run(stepId)).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE step_tracker SET status = 'claimed', claimed_by = NULL WHERE step_id = ?`).run(stepId)).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE step_tracker SET run_after = '2024-01-01 00:00:00' WHERE step_id = ?`).run(stepId)).toThrow(/TEXT value in INTEGER/);
    expect(() => db.prepare(`INSERT INTO step_events (step_id, ts, kind, attempt) VALUES (?, 0, 'bogus', 0)`).run(stepId)).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE pod_health SET status = 'alive'`).run()).not.toThrow(); // no rows: nothing to refuse
  });
});

describe('migrate', () => {
  it('is safe when several processes start at once: exactly one applies v1', async () => {
    const stores = await Promise.all([open(), open(), open(), open()]);
    const results = await Promise.all(stores.map((s) => s.migrate()));
    expect(results.filter((r) => r.from === 0)).toHaveLength(1);
    expect(results.every((r) => r.to === SQLITE_SCHEMA_VERSION)).toBe(true);
  });

  it('throws SchemaTooNewError and changes nothing when the file is newer than this build', async () => {
    const store = await open();
    await store.migrate();
    const db = raw();
    db.prepare(`UPDATE schema_version SET version = ?, updated_ts = 42`).run(SQLITE_SCHEMA_VERSION + 1);
    const before = db.prepare(`SELECT * FROM sqlite_master ORDER BY name`).all();

    const late = await open();
    const error = await late.migrate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({ code: 'schema_too_new', found: SQLITE_SCHEMA_VERSION + 1, known: SQLITE_SCHEMA_VERSION });
    expect(db.prepare(`SELECT version, updated_ts FROM schema_version`).get()).toEqual({ version: SQLITE_SCHEMA_VERSION + 1, updated_ts: 42 });
    expect(db.prepare(`SELECT * FROM sqlite_master ORDER BY name`).all()).toEqual(before);
  });
});

describe('stepSubmitBatch', () => {
  it('inserts 10,000 steps and their events in one transaction, quickly', async () => {
    const store = await open();
    await store.migrate();
    const steps = Array.from({ length: 10_000 }, (_, i) => ({ type: 'echo', args: { i }, maxRetries: 3, timeoutMs: 60_000 }));
    const started = performance.now();
    const { results } = await store.stepSubmitBatch({ steps });
    const elapsed = performance.now() - started;
    expect(results).toHaveLength(10_000);
    expect(new Set(results.map((r) => r.stepId)).size).toBe(10_000);
    const db = raw();
    expect(db.prepare(`SELECT COUNT(*) FROM step_tracker`).pluck().get()).toBe(10_000);
    expect(db.prepare(`SELECT COUNT(*) FROM step_events WHERE kind = 'submitted'`).pluck().get()).toBe(10_000);
    // Measured 290–410 ms on this machine; the bound leaves room for slower CI hosts.
    expect(elapsed).toBeLessThan(3_000);
  });

  it('writes nothing when one item is invalid, naming its index', async () => {
    const store = await open();
    await store.migrate();
    const good = { type: 'echo', args: {}, maxRetries: 1, timeoutMs: 1_000 };
    const error = await store.stepSubmitBatch({ steps: [good, { ...good, maxRetries: -1 }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors?.map((e) => e.loc)).toEqual(['1']);
    expect(raw().prepare(`SELECT COUNT(*) FROM step_tracker`).pluck().get()).toBe(0);
  });
});
