/**
 * SQLite statement counting for the benchmark: every run/get/all/iterate of a prepared statement and
 * every `exec` in this process is counted. better-sqlite3 runs a transaction's BEGIN and COMMIT as
 * prepared statements too, so they are counted like the rest. Labels come from the driver's own
 * statement names (queries.ts). Owns the hook and the label table; must not alter statements.
 */
import Database from 'better-sqlite3';
import { tableNames } from '../../src/store/schema.js';
import { sqliteQueries } from '../../src/store/sqlite/queries.js';
import type { StatementCounter } from './statement-counter.js';

let installed = false;

type Method = (this: { source: string; database: object }, ...args: unknown[]) => unknown;

/** Wraps the Statement and Database prototypes once per process so that `counter` sees every statement. */
export function countSqliteStatements(counter: StatementCounter): void {
  if (installed) return;
  installed = true;
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, Method>;
  probe.close();
  for (const name of ['run', 'get', 'all', 'iterate']) {
    const original = statementProto[name]!;
    statementProto[name] = function countedStatement(...args: unknown[]): unknown {
      counter.record(this.database, this.source, controlLabel(this.source));
      return original.apply(this, args);
    };
  }
  const databaseProto = Database.prototype as unknown as { exec: (this: object, sql: string) => unknown };
  const originalExec = databaseProto.exec;
  databaseProto.exec = function countedExec(this: object, sql: string): unknown {
    counter.record(this, sql, controlLabel(sql));
    return originalExec.call(this, sql);
  };
}

/** Transaction control (run by better-sqlite3 itself) has no entry in queries.ts. */
function controlLabel(sql: string): string | undefined {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  if (verb === 'BEGIN' || verb === 'COMMIT' || verb === 'ROLLBACK' || verb === 'SAVEPOINT' || verb === 'RELEASE') return 'begin/commit';
  return undefined;
}

/**
 * The label of each statement the SQLite driver runs for `prefix`: its key in queries.ts, with the
 * names that the idle report groups (heartbeat, leader check, sweep) mapped to shared labels.
 */
export function sqliteStatementLabels(prefix: string): [string, string][] {
  const shared: { [key: string]: string } = {
    podHeartbeat: 'heartbeat',
    pragmaDataVersion: 'watch_poll',
    watchProbe: 'wake_read',
  };
  return Object.entries(sqliteQueries(tableNames(prefix))).map(([key, sql]) => [sql, shared[key] ?? sweepLabel(key) ?? key]);
}

/** Recovery and retention statements, grouped as the leader's periodic work. */
function sweepLabel(key: string): string | undefined {
  if (/^(recovery|sweep)/i.test(key)) return 'sweep';
  if (/^(prune|retention)/i.test(key)) return 'prune';
  return undefined;
}
