/**
 * The benchmark's SQLite: a temp directory with one database file per queue, so every measurement
 * starts from an empty file. Owns the benchmark's own read connections (excluded from statement
 * counts) and the single-row commit loop; never writes a queue's tables.
 *
 * The commit loop uses ONE connection whatever the concurrency asked for: SQLite has one writer per
 * file, so more connections only add lock waits, and a pod process writes through one connection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { BenchDatabase, BenchQueue, CommitRate, ProcessingWindow, QueueCounts } from './database.js';
import type { StatementCounter } from './statement-counter.js';
import { sqliteStatementLabels } from './statements.sqlite.js';

/** Creates the run's temp directory. */
export async function openSqliteBench(counter: StatementCounter): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-q-bench-'));
  const connections: Database.Database[] = [];
  const open = (path: string) => {
    const db = new Database(path, { timeout: 5000 });
    counter.exclude(db);
    connections.push(db);
    return db;
  };
  const probe = open(':memory:');
  const version = String(probe.prepare('SELECT sqlite_version() AS v').pluck().get());
  counter.addLabels(sqliteStatementLabels(''));

  return {
    kind: 'sqlite',
    origin: `temp files in ${dir}`,
    version: `SQLite ${version}`,
    settings: { journal_mode: 'wal', synchronous: 'NORMAL' },
    async queue(name) {
      const path = join(dir, `${name}.db`);
      let db: Database.Database | undefined;
      // Opened on first read: the file and its tables exist once a store has opened and migrated it.
      const reader = () => (db ??= open(path));
      const queue: BenchQueue = {
        name,
        env: { FLEET_Q_STORAGE_MODE: 'sqlite', FLEET_Q_SQLITE_DB_PATH: path },
        async counts(): Promise<QueueCounts> {
          const rows = reader().prepare('SELECT status, count(*) AS n FROM step_tracker GROUP BY status').all() as { status: string; n: number }[];
          const of = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
          return { pending: of('pending'), claimed: of('claimed'), completed: of('completed'), failed: of('failed') };
        },
        async window(afterEventId = 0): Promise<ProcessingWindow> {
          const row = reader()
            .prepare(
              `SELECT min(CASE WHEN kind = 'claimed' THEN ts END) AS first_ms, max(CASE WHEN kind = 'completed' THEN ts END) AS last_ms,
                      sum(kind = 'completed') AS n, max(event_id) AS last_id FROM step_events WHERE event_id > ?`,
            )
            .get(afterEventId) as { first_ms: number | null; last_ms: number | null; n: number | null; last_id: number | null };
          return { firstClaimMs: row.first_ms, lastCompleteMs: row.last_ms, completedEvents: row.n ?? 0, lastEventId: row.last_id ?? afterEventId };
        },
        async podsUp() {
          return Number(reader().prepare(`SELECT count(*) FROM pod_health WHERE status = 'up'`).pluck().get());
        },
      };
      return queue;
    },
    async commitLoop(concurrency, seconds): Promise<CommitRate> {
      const db = open(join(dir, 'commit-baseline.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec('CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
      db.exec('INSERT OR IGNORE INTO bench_commit (id, n) VALUES (1, 0)');
      const begin = db.prepare('BEGIN IMMEDIATE');
      const update = db.prepare('UPDATE bench_commit SET n = n + 1 WHERE id = 1');
      const commit = db.prepare('COMMIT');
      const started = performance.now();
      const deadline = started + seconds * 1000;
      let commits = 0;
      while (performance.now() < deadline) {
        begin.run();
        update.run();
        commit.run();
        commits++;
      }
      const elapsed = (performance.now() - started) / 1000;
      return { concurrency: Math.min(concurrency, 1), commits, seconds: elapsed, perSecond: commits / elapsed };
    },
    serverCpu: async () => null,
    async close({ keep }) {
      for (const db of connections) db.close();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
