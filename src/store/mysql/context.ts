/**
 * What the MySQL operation modules share: the statements, the policy, and the audit-event insert
 * every transition makes. Owns no transaction boundaries: the driver runs each operation inside
 * `inTransaction` (connection.ts) on one connection.
 */
import type { Json, StepEventKind, StorePolicy } from '../store.js';
import { run, type Connection } from './connection.js';
import type { MysqlQueries } from './queries.js';

/** The state an operation module may use inside the driver's transaction. */
export interface MysqlContext {
  readonly sql: MysqlQueries;
  readonly policy: StorePolicy;
}

/** One `step_events` row to append. */
export interface NewEvent {
  readonly stepId: string;
  readonly ts: number;
  readonly kind: StepEventKind;
  readonly podId: string | null;
  readonly attempt: number;
  readonly detail: { readonly [key: string]: Json };
}

/** Appends audit events in order, in one statement; call inside the transaction that makes the change. */
export async function insertEvents(connection: Connection, ctx: MysqlContext, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => [e.stepId, e.ts, e.kind, e.podId, e.attempt, JSON.stringify(e.detail)]);
  await run(connection, ctx.sql.eventInsert, [rows]);
}

/** The statement clock of this transaction: the test `now`, or the database's (read once). */
export async function readClock(connection: Connection, ctx: MysqlContext, now: number | undefined): Promise<number> {
  const [row] = await run<{ now_ms: number | string }>(connection, ctx.sql.clock, [now ?? null]);
  return Number(row!.now_ms);
}

/**
 * `min(base · 2^(n−1), max) · U[0.5, 1]` for the n-th retry, where n − 1 is the retry_count before
 * the failure; rounded up to a whole millisecond, which keeps it within [d/2, d].
 */
export function backoffMs(policy: StorePolicy, retryCountBefore: number): number {
  const ceiling = Math.min(policy.baseDelayMs * 2 ** Math.min(retryCountBefore, 60), policy.maxDelayMs);
  return Math.ceil(ceiling * (0.5 + 0.5 * Math.random()));
}
