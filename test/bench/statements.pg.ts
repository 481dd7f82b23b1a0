/**
 * PostgreSQL statement counting for the benchmark: every `pg.Client#query` in this process (the
 * store's pools and its LISTEN client all go through it) is counted, labelled by matching its text
 * against the driver's own statements. Owns the hook and the label table; must not alter queries.
 */
import pg from 'pg';
import { pgNames } from '../../src/store/postgres/names.js';
import * as maintenanceSql from '../../src/store/postgres/queries.maintenance.js';
import * as stepSql from '../../src/store/postgres/queries.js';
import type { StatementCounter } from './statement-counter.js';

let installed = false;

/** Wraps `pg.Client.prototype.query` once per process so that `counter` sees every statement. */
export function countPgStatements(counter: StatementCounter): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function countedQuery(this: object, ...args: unknown[]): unknown {
    const config = args[0] as string | { text?: string; name?: string } | undefined;
    const text = typeof config === 'string' ? config : (config?.text ?? '');
    counter.record(this, text, controlLabel(text));
    return original.apply(this, args);
  };
}

/** Transaction control and LISTEN have no builder in the driver; they are told apart by their verb. */
function controlLabel(text: string): string | undefined {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase();
  if (verb === 'BEGIN' || verb === 'COMMIT' || verb === 'ROLLBACK' || verb === 'START') return 'begin/commit';
  if (verb === 'LISTEN' || verb === 'UNLISTEN') return 'listen';
  if (/^\s*SELECT 1\s*$/i.test(text)) return 'ping';
  return undefined;
}

/** The label of each statement the PostgreSQL driver runs for the queue `schema`.`prefix`. */
export function pgStatementLabels(schema: string, prefix: string): [string, string][] {
  const n = pgNames(schema, prefix);
  return [
    [stepSql.stepSubmitSql(n), 'submit'],
    // One text per list limit a claim of up to 1,000 steps (the largest capacity) can use.
    ...[...new Set(Array.from({ length: 1_001 }, (_, limit) => stepSql.claimListLimit(limit)))].map((l): [string, string] => [
      stepSql.stepClaimSql(n, l),
      'claim',
    ]),
    [stepSql.stepCompleteSql(n), 'complete'],
    [stepSql.stepCompleteBatchSql(n, true), 'complete_batch'],
    [stepSql.stepCompleteBatchSql(n, false), 'complete_batch'],
    [stepSql.stepFailSql(n), 'fail/release'],
    [stepSql.stepGetSql(n), 'step_get'],
    [stepSql.stepReplaySql(n), 'replay'],
    [stepSql.eventListSql(n), 'event_list'],
    [maintenanceSql.podRegisterSql(n), 'register'],
    [maintenanceSql.podHeartbeatSql(n), 'heartbeat'],
    [maintenanceSql.podMarkDownSql(n), 'mark_down'],
    [maintenanceSql.podListSql(n), 'pod_list'],
    [maintenanceSql.leaderGetSql(n), 'leader_check'],
    [maintenanceSql.recoverySweepSql(n), 'sweep'],
    [maintenanceSql.recoveryPreviewSql(n), 'sweep'],
    [maintenanceSql.queueStatsSql(n), 'queue_stats'],
    [maintenanceSql.dlqListSql(n), 'dlq'],
    [maintenanceSql.retentionPruneSql(n), 'prune'],
    [maintenanceSql.nextWakeSql(n), 'wake_read'],
    [maintenanceSql.analyzeStepsSql(n), 'analyze'],
  ];
}
