/**
 * MySQL statement counting for the benchmark: every `query` of a mysql2 connection in this process
 * (the store's pools, its migration and watcher connections) is counted, labelled by matching its
 * text against the driver's own statements (queries.ts). Owns the hook and the label table; must not
 * alter queries.
 */
import mysql from 'mysql2';
import { mysqlNames } from '../../src/store/mysql/names.js';
import { mysqlQueries } from '../../src/store/mysql/queries.js';
import type { StatementCounter } from './statement-counter.js';

let installed = false;

/** Wraps `Connection.prototype.query` once per process (pool connections inherit it). */
export function countMysqlStatements(counter: StatementCounter): void {
  if (installed) return;
  installed = true;
  const proto = (mysql as unknown as { Connection: { prototype: { query: (...args: unknown[]) => unknown } } }).Connection.prototype;
  const original = proto.query;
  proto.query = function countedQuery(this: object, ...args: unknown[]): unknown {
    const sql = args[0] as string | { sql?: string } | undefined;
    const text = typeof sql === 'string' ? sql : (sql?.sql ?? '');
    counter.record(this, text, controlLabel(text));
    return original.apply(this, args);
  };
}

/** Transaction control and session set-up have no entry in queries.ts; they are told apart by their verb. */
function controlLabel(text: string): string | undefined {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase();
  if (verb === 'START' || verb === 'BEGIN' || verb === 'COMMIT' || verb === 'ROLLBACK') return 'begin/commit';
  if (verb === 'SET') return 'session_setup';
  if (/^\s*SELECT 1\s*$/i.test(text)) return 'ping';
  return undefined;
}

/** The label of each statement the MySQL driver runs for the queue with table prefix `prefix`. */
export function mysqlStatementLabels(prefix: string): [string, string][] {
  const q = mysqlQueries(mysqlNames(prefix));
  const label: Partial<Record<keyof typeof q, string>> = {
    claimStart: 'claim',
    claimPick: 'claim',
    claimMark: 'claim',
    stepComplete: 'complete',
    stepLockMany: 'complete',
    stepLock: 'fail/release',
    stepSettle: 'fail/release',
    stepInsert: 'submit',
    stepFindByKeys: 'submit',
    eventInsert: 'event_insert',
    podHeartbeat: 'heartbeat',
    podListLive: 'leader_check',
    sweepOrphans: 'sweep',
    sweepDeadPods: 'sweep',
    sweepDownPods: 'sweep',
    pruneDoomed: 'prune',
    pruneEvents: 'prune',
    pruneSteps: 'prune',
    prunePods: 'prune',
    watchProbe: 'watch_probe',
    clock: 'clock',
  };
  return Object.entries(q).map(([name, text]) => [text, label[name as keyof typeof q] ?? name]);
}
