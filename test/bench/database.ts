/**
 * What the benchmark needs from a database, whichever it is: fresh queues (empty tables), reads of
 * a queue's progress made on the benchmark's own (uncounted) connection, and the database's own
 * commit-rate limit. Owns the interfaces only; postgres, sqlite and mysql implement them beside this file.
 */

/** Step counts of one queue. */
export interface QueueCounts {
  readonly pending: number;
  readonly claimed: number;
  readonly completed: number;
  readonly failed: number;
}

/** From the audit trail: the first `claimed` and the last `completed` event, epoch ms. */
export interface ProcessingWindow {
  readonly firstClaimMs: number | null;
  readonly lastCompleteMs: number | null;
  readonly completedEvents: number;
  /** The newest event's id (0: none), so a later window can leave out everything up to it. */
  readonly lastEventId: number;
}

/** One queue (its own tables) in the benchmark database. */
export interface BenchQueue {
  readonly name: string;
  /** The FLEET_Q_* variables that select this queue (a pod process gets exactly these, plus its own). */
  readonly env: Readonly<Record<string, string>>;
  counts(): Promise<QueueCounts>;
  /** The window of the events after event `afterEventId` (default 0: all of them). */
  window(afterEventId?: number): Promise<ProcessingWindow>;
  /** Pods registered `up` in this queue. */
  podsUp(): Promise<number>;
}

/** A single-row commit loop's outcome. */
export interface CommitRate {
  readonly concurrency: number;
  readonly commits: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** CPU µs the database server's processes spent since the meter started. */
export type ServerCpuMeter = () => Promise<number>;

/** The database a benchmark run measures. */
export interface BenchDatabase {
  readonly kind: 'postgres' | 'sqlite' | 'mysql' | 'snowflake';
  /** Where it came from, for the report (never a password). */
  readonly origin: string;
  /** Server or library version. */
  readonly version: string;
  /** Settings that change commit cost (synchronous_commit, fsync, journal mode, …). */
  readonly settings: Readonly<Record<string, string>>;
  /** A new queue with empty tables (created by the store's own migrations when a pod or client opens it). */
  queue(name: string): Promise<BenchQueue>;
  /**
   * The database's own limit: `concurrency` connections, each committing `BEGIN; UPDATE one row;
   * COMMIT` on a row of its own, for `seconds`.
   */
  commitLoop(concurrency: number, seconds: number): Promise<CommitRate>;
  /**
   * Starts counting the CPU the database server spends, where its processes run on this machine
   * (PostgreSQL); null for a remote server, for SQLite (its work is the pod's own CPU) and for MySQL
   * and Snowflake. Every process of the server counts, so other work on the same server inflates it.
   */
  serverCpu(): Promise<ServerCpuMeter | null>;
  /** Drops what the run created (unless kept) and stops a throw-away server. */
  close(options: { readonly keep: boolean }): Promise<void>;
}
