/**
 * What the SQLite operation modules share: the connection, the policy, prepared statements
 * (prepared once per store, lazily because they name tables that exist only after `migrate()`),
 * and the audit-event insert every transition makes. Owns no transaction boundaries: the driver
 * opens one around each operation.
 */
import type Database from 'better-sqlite3';
import type { Json, StepEventKind, StorePolicy } from '../store.js';
import type { SqliteQueries, SqliteQueryName } from './queries.js';

/** The state an operation module may use inside the driver's transaction. */
export interface SqliteContext {
  readonly db: Database.Database;
  readonly policy: StorePolicy;
  /** The prepared statement for `name`, compiled on first use and reused afterwards. */
  statement(name: SqliteQueryName): Database.Statement;
}

/** Prepares each statement once per connection. */
export class StatementCache {
  private readonly prepared = new Map<SqliteQueryName, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly queries: SqliteQueries,
  ) {}

  get(name: SqliteQueryName): Database.Statement {
    let statement = this.prepared.get(name);
    if (statement === undefined) {
      statement = this.db.prepare(this.queries[name]);
      this.prepared.set(name, statement);
    }
    return statement;
  }
}

/** The policy values that time-judging statements bind by name. */
export function policyParams(policy: StorePolicy) {
  return {
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    deadPodThresholdMs: policy.deadPodThresholdMs,
    maxReleases: policy.maxReleases,
  };
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

/** Appends one audit event; call inside the transaction that makes the change it records. */
export function insertEvent(ctx: SqliteContext, event: NewEvent): void {
  ctx.statement('eventInsert').run({
    stepId: event.stepId,
    ts: event.ts,
    kind: event.kind,
    podId: event.podId,
    attempt: event.attempt,
    detail: JSON.stringify(event.detail),
  });
}

/** One event of a kind whose detail is empty (`claimed`, `completed`). */
export interface PlainEvent {
  readonly stepId: string;
  readonly ts: number;
  readonly podId: string;
  readonly attempt: number;
}

/** Appends `events` of one `kind` with an empty detail in one statement, in order. */
export function insertPlainEvents(ctx: SqliteContext, kind: 'claimed' | 'completed', events: readonly PlainEvent[]): void {
  if (events.length === 0) return;
  const rows = events.map((e) => [e.stepId, e.ts, e.podId, e.attempt]);
  ctx.statement('eventInsertPlainMany').run({ kind, rows: JSON.stringify(rows) });
}
