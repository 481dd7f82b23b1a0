/**
 * What `npm run bench -- --scale` does to a queue's tables that no producer or pod could do fast
 * enough: turn a million freshly submitted steps into a million completed ones (with their claimed
 * and completed events) dated long ago, and ask the database for the query plans of the claim and
 * the retention batch. Owns the benchmark's own connections to one queue; must not be used by a
 * test or by src/ (fixtures of this kind belong to the benchmark only).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { pgNames } from '../../src/store/postgres/names.js';
import { claimListLimit, stepClaimSql } from '../../src/store/postgres/queries.js';
import { retentionPruneSql } from '../../src/store/postgres/queries.maintenance.js';
import { sqliteQueries } from '../../src/store/sqlite/queries.js';
import { tableNames } from '../../src/store/schema.js';
import type { BenchQueue } from './database.js';

/** Direct access to one queue's tables. */
export interface ScaleFixture {
  /** Every pending step becomes completed by `podId` at `ts` (epoch ms), with claimed and completed events. */
  completeAllPending(podId: string, ts: number): Promise<number>;
  /** Fresh planner statistics, as autovacuum or `ANALYZE` would give a table that grew this much. */
  analyze(): Promise<void>;
  /** The plan of the claim statement (as `podId`, for `types`), run and rolled back where the database allows. */
  claimPlan(podId: string, types: readonly string[]): Promise<string>;
  /** The plan of one retention batch (30 days), likewise. */
  prunePlan(): Promise<string>;
  close(): Promise<void>;
}

/** Opens the fixture matching the queue's store. */
export async function openScaleFixture(queue: BenchQueue): Promise<ScaleFixture> {
  return queue.env['FLEET_Q_STORAGE_MODE'] === 'postgres' ? openPg(queue.env) : openSqlite(queue.env);
}

async function openPg(env: Readonly<Record<string, string>>): Promise<ScaleFixture> {
  const client = new pg.Client({ connectionString: env['FLEET_Q_DATABASE_URL'], application_name: 'fleet-q bench scale' });
  await client.connect();
  const n = pgNames(env['FLEET_Q_DB_SCHEMA'], env['FLEET_Q_TABLE_PREFIX']);
  /**
   * The generic plan (no parameter values): the one a pod's claim session always runs (connection.ts),
   * and the one a prepared retention batch settles on after five executions if it looks no dearer.
   * ANALYZE runs the statement; inside a rolled-back transaction it changes nothing.
   */
  const explain = async (sql: string, values: readonly unknown[]) => {
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL plan_cache_mode = force_generic_plan; PREPARE scale_plan AS ${sql}`);
      const args = values.map((v) => (v === null ? 'NULL' : Array.isArray(v) ? `ARRAY[${v.map((x) => `'${String(x)}'`).join(',')}]` : `'${String(v)}'`));
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE scale_plan(${args.join(', ')})`,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      // PREPARE is not transactional.
      await client.query('ROLLBACK; DEALLOCATE ALL');
    }
  };
  const at = (ts: number) => `timestamptz 'epoch' + ${ts}::float8 * interval '1 millisecond'`;
  return {
    async completeAllPending(podId, ts) {
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        `UPDATE ${n.stepTracker} SET status = 'completed', claimed_by = $1, attempt = 1, result = 'null'::jsonb, last_update_ts = ${at(ts)}
         WHERE status = 'pending'`,
        [podId],
      );
      await client.query(
        `INSERT INTO ${n.stepEvents} (step_id, ts, kind, pod_id, attempt, detail)
         SELECT s.step_id, ${at(ts)}, k.kind, $1, 1, '{}'::jsonb
         FROM ${n.stepTracker} s CROSS JOIN (VALUES ('claimed'), ('completed')) k(kind)
         WHERE s.status = 'completed' AND s.last_update_ts = ${at(ts)}`,
        [podId],
      );
      await client.query('COMMIT');
      return rowCount ?? 0;
    },
    async analyze() {
      await client.query(`VACUUM ANALYZE ${n.stepTracker}`);
      await client.query(`VACUUM ANALYZE ${n.stepEvents}`);
    },
    async claimPlan(podId, types) {
      return explain(stepClaimSql(n, claimListLimit(10)), [null, podId, types, 10]);
    },
    async prunePlan() {
      return explain(retentionPruneSql(n), [null, 30 * 86_400_000, 5_000]);
    },
    async close() {
      await client.end();
    },
  };
}

async function openSqlite(env: Readonly<Record<string, string>>): Promise<ScaleFixture> {
  const db = new Database(env['FLEET_Q_SQLITE_DB_PATH']!, { timeout: 60_000 });
  const t = tableNames(env['FLEET_Q_TABLE_PREFIX'] ?? '');
  const q = sqliteQueries(t);
  const plan = (sql: string, params: Record<string, unknown>) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('\n');
  return {
    async completeAllPending(podId, ts) {
      return db
        .transaction(() => {
          const changed = db
            .prepare(
              `UPDATE ${t.stepTracker} SET status = 'completed', claimed_by = ?, attempt = 1, result = 'null', last_update_ts = ? WHERE status = 'pending'`,
            )
            .run(podId, ts).changes;
          db.prepare(
            `INSERT INTO ${t.stepEvents} (step_id, ts, kind, pod_id, attempt, detail)
           SELECT s.step_id, ?, k.kind, ?, 1, '{}' FROM ${t.stepTracker} s, (SELECT 'claimed' AS kind UNION ALL SELECT 'completed') k
           WHERE s.status = 'completed' AND s.last_update_ts = ?`,
          ).run(ts, podId, ts);
          return changed;
        })
        .immediate();
    },
    async analyze() {
      db.exec('ANALYZE');
    },
    async claimPlan(podId, types) {
      return plan(q.stepClaim, { podId, types: JSON.stringify(types), limit: 10, now: Date.now() });
    },
    async prunePlan() {
      return [plan(q.pruneBatchPick, { cutoff: 0, limit: 1_000 }), plan(q.pruneEvents, { ids: '[]' }), plan(q.pruneSteps, { ids: '[]', cutoff: 0 })].join('\n');
    },
    async close() {
      db.close();
    },
  };
}
