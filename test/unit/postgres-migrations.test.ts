/**
 * PostgreSQL migrations: many pods migrating one empty schema at once (the advisory lock lets one
 * apply and the rest find nothing to do), a schema created when missing, table prefixes side by
 * side, a database newer than this build refused without a change, identifiers validated before
 * anything connects.
 */
import { describe, expect, it } from 'vitest';
import { SchemaTooNewError, ValidationError } from '../../src/errors.js';
import { openPostgresStore } from '../../src/store/postgres/driver.js';
import { LATEST_VERSION, MIGRATIONS, runMigrations } from '../../src/store/postgres/migrations.js';
import { pgNames } from '../../src/store/postgres/names.js';
import { withClient } from '../support/postgres.js';
import { POLICY, SUBMIT, pgTestDatabases, uniqueName } from './postgres-fixture.js';

const database = pgTestDatabases();

async function tablesOf(url: string, schema: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema]);
    return rows.map((r) => r.name);
  });
}

describe('postgres migrations', () => {
  it('lets five openers migrate one empty schema at once: one applies every version, the others find it done', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 5 }, () => db.open()));
    const results = await Promise.all(stores.map((s) => s.migrate()));
    expect(results.filter((r) => r.from === 0)).toEqual([{ from: 0, to: LATEST_VERSION }]);
    expect(results.filter((r) => r.from !== 0)).toEqual(Array.from({ length: 4 }, () => ({ from: LATEST_VERSION, to: LATEST_VERSION })));
    expect(await tablesOf(db.url, db.schema)).toEqual(['pod_health', 'schema_version', 'step_dependencies', 'step_events', 'step_tracker']);
    const version = await withClient(db.url, (c) => c.query(`SELECT id, version FROM "${db.schema}".schema_version`));
    expect(version.rows).toEqual([{ id: 1, version: LATEST_VERSION }]);
    // Every opener works on the result.
    for (const store of stores) expect((await store.stepSubmit(SUBMIT)).outcome).toBe('submitted');
    expect(db.errors).toEqual([]);
  });

  it('upgrades a version 1 schema holding steps: adds the claim indexes, and the steps stay claimable in order', async () => {
    const db = await database();
    await withClient(db.url, (c) => runMigrations(c, pgNames(db.schema), MIGRATIONS.slice(0, 1)));
    // Rows as a version 1 build wrote them (this build's submit writes columns version 1 lacks).
    const delayed = { stepId: 'step_01' };
    const ready = { stepId: 'step_02' };
    await withClient(db.url, (c) =>
      c.query(`INSERT INTO "${db.schema}".step_tracker (step_id, type, args, status, max_retries, run_after, timeout_ms, created_ts, last_update_ts)
        VALUES ('step_01', 'echo', '{}', 'pending', 1, now() - interval '1 second', 1000, now() - interval '2 seconds', now()),
               ('step_02', 'echo', '{}', 'pending', 1, now() - interval '1 second', 1000, now() - interval '1 second', now())`),
    );
    const store = await db.open();
    expect(await store.migrate()).toEqual({ from: 1, to: LATEST_VERSION });
    const indexes = await withClient(db.url, (c) =>
      c.query<{ name: string }>('SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 ORDER BY 1', [db.schema]),
    );
    expect(indexes.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['st_ready_ix', 'st_delayed_ix', 'st_expired_ix', 'st_pending_ix']));
    await store.podRegister({ podId: 'alpha-00000001', name: 'alpha', meta: { max_parallelism: 2, capacity: 2, in_flight: 0, version: 't', host: 'h' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const claimed = await store.stepClaim({ podId: 'alpha-00000001', types: ['echo'], limit: 5 });
    expect(claimed.map((r) => r.stepId)).toEqual([delayed.stepId, ready.stepId]);
  });

  it('is a no-op the second time', async () => {
    const db = await database();
    const store = await db.open();
    expect(await store.migrate()).toEqual({ from: 0, to: LATEST_VERSION });
    expect(await store.migrate()).toEqual({ from: LATEST_VERSION, to: LATEST_VERSION });
  });

  it('creates the schema when it does not exist yet', async () => {
    const db = await database();
    const schema = uniqueName('fq_new_schema');
    try {
      const store = await db.open({ schema });
      await store.migrate();
      expect(await tablesOf(db.url, schema)).toEqual(['pod_health', 'schema_version', 'step_dependencies', 'step_events', 'step_tracker']);
    } finally {
      await withClient(db.url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    }
  });

  it('keeps two table prefixes in one schema apart', async () => {
    const db = await database();
    const plain = await db.open();
    const prefixed = await db.open({ tablePrefix: 'Tenant_B_' });
    await Promise.all([plain.migrate(), prefixed.migrate()]);
    expect(await tablesOf(db.url, db.schema)).toEqual([
      'Tenant_B_pod_health',
      'Tenant_B_schema_version',
      'Tenant_B_step_dependencies',
      'Tenant_B_step_events',
      'Tenant_B_step_tracker',
      'pod_health',
      'schema_version',
      'step_dependencies',
      'step_events',
      'step_tracker',
    ]);
    await prefixed.stepSubmit(SUBMIT);
    expect((await prefixed.queueStats()).pending).toBe(1);
    expect((await plain.queueStats()).pending).toBe(0);
  });

  it('refuses a database newer than this build with SchemaTooNewError, changing nothing', async () => {
    const db = await database();
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE "${db.schema}".schema_version (id integer PRIMARY KEY, version integer NOT NULL, updated_ts timestamptz NOT NULL);
               INSERT INTO "${db.schema}".schema_version VALUES (1, ${LATEST_VERSION + 1}, now())`),
    );
    const store = await db.open();
    const error = await store.migrate().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({ found: LATEST_VERSION + 1, known: LATEST_VERSION });
    expect(await tablesOf(db.url, db.schema)).toEqual(['schema_version']);
    // The store's connection is still usable afterwards (the aborted migration did not poison the pool).
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('validates schema and prefix before connecting', async () => {
    const bad = { url: 'postgresql://nobody@127.0.0.1:1/none', policy: POLICY };
    await expect(openPostgresStore({ ...bad, schema: 'public; DROP TABLE x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(openPostgresStore({ ...bad, tablePrefix: 'a"b' })).rejects.toBeInstanceOf(ValidationError);
    await expect(openPostgresStore({ ...bad, tablePrefix: 'p'.repeat(50) })).rejects.toBeInstanceOf(ValidationError);
  });
});
