/**
 * The MySQL / MariaDB `Store` (MySQL 8.0+, MariaDB 10.6+: both have `SKIP LOCKED`). Each method is
 * one transaction on the main pool (or one read), run through connection.ts, which re-runs a
 * transaction that lost a deadlock or a lock wait; heartbeats and leadership use the reserved
 * control pool; migrations take one dedicated connection under `GET_LOCK`. Two deliberate
 * exceptions, as on PostgreSQL: retention prunes in chunks, each its own transaction, and
 * completions arriving together share one transaction. Owns the mapping from Store calls to
 * operations and transactions; the rules live in the operation modules beside it and the SQL in
 * queries.ts. Must not hold a transaction across calls or a connection while a step runs.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import { WriteCoalescer } from '../coalesce.js';
import { serialiseProgress, serialiseResult } from '../json.js';
import { writeInRounds } from '../rounds.js';
import type {
  Json,
  WorkflowGraph,
  WorkflowGraphParams,
  QueueActivity,
  QueueActivityParams,
  QueueAgeResult,
  StepListParams,
  StepCompleteManyParams,
  AtTime,
  DlqListParams,
  DlqListResult,
  EventListParams,
  ClaimedStepRow,
  FencedWriteOutcome,
  FencedWriteResult,
  LeaderInfo,
  MigrateResult,
  PodHeartbeatParams,
  PodHeartbeatResult,
  PodRegisterParams,
  PodRow,
  QueueStats,
  RecoverySummary,
  RecoverySweepParams,
  RetentionPruneParams,
  RetentionPruneResult,
  StepClaimParams,
  StepCompleteParams,
  StepEvent,
  StepFailParams,
  StepReleaseParams,
  StepReplayParams,
  StepRow,
  StepCancelledAmongParams,
  StepCancelParams,
  StepCancelResult,
  StepProgressParams,
  StepProgressResult,
  StepSubmitBatchParams,
  StepSubmitBatchResult,
  StepSubmitParams,
  StepSubmitResult,
  Store,
  StoreCapabilities,
  StorePolicy,
} from '../store.js';
import { outcomeOf } from '../store.js';
import type { StoreError } from '../../errors.js';
import { classifyMysqlError } from './classify.js';
import { inTransaction, MysqlConnections, run, runRead, write } from './connection.js';
import { insertEvents, readClock, type MysqlContext, type NewEvent } from './context.js';
import { limitedTypes } from '../flow.js';
import { withFlowLocks } from './flow-locks.js';
import { cancelLocked, progressLocked } from './control.js';
import { claimSteps, completeLocked, failLocked } from './fenced.js';
import { runMigrations } from './migrations.js';
import { mysqlNames, type MysqlNames } from './names.js';
import { heartbeatPod, listPods, readLeader, registerPod } from './pods.js';
import { mysqlQueries } from './queries.js';
import { getStep, listDlq, listEvents, listSteps, readActivity, readQueueAge, readQueueStats } from './reads.js';
import { pruneChunk, sweep } from './recovery.js';
import { toStepRow, type LockedStepRecord } from './rows.js';
import { insertItems, prepareItems } from './submit.js';
import { cascadeRevival, openGates, readEdgesTouching, readParentResults, readSteps } from './workflow.js';
import { checkDependencies, walkWorkflow } from '../workflow.js';
import { WorkWatcher } from './watch.js';

/** Options of `openMysqlStore`. */
export interface MysqlStoreOptions {
  /** `mysql://user:password@host:3306/database`; the database must exist. */
  readonly url: string;
  /** FLEET_Q_TABLE_PREFIX; default empty. */
  readonly tablePrefix?: string;
  readonly policy: StorePolicy;
  /** Size of the main pool (steps, reads, sweeps); heartbeats have two more connections of their own. Default 10. */
  readonly poolSize?: number;
  readonly ssl?: { readonly rejectUnauthorized?: boolean; readonly ca?: string };
  /** Background connection failures, classified; never thrown. */
  readonly onError?: (err: StoreError) => void;
}

/** Steps (with their events) deleted per retention transaction, as on PostgreSQL. */
const RETENTION_CHUNK = 5_000;

/** A submit whose idempotency key another producer committed meanwhile (1062) is run again, at most this often. */
const KEY_RACE_RUNS = 5;

interface PendingCompletion {
  readonly params: StepCompleteParams;
  readonly result: string;
}

export class MysqlStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'mysql', pushNotifications: false };
  readonly policy: StorePolicy;
  readonly names: MysqlNames;
  private readonly connections: MysqlConnections;
  private readonly ctx: MysqlContext;
  private readonly watcher: WorkWatcher;
  /** Completions that arrive while the previous batch commits share one transaction (one log flush). */
  private readonly completions = new WriteCoalescer<PendingCompletion, FencedWriteResult<'completed'>>({
    writeBatch: (items) => this.completeMany(items),
    writeOne: async (item) => (await this.completeMany([item]))[0]!,
    key: (item) => item.params.stepId,
  });
  private closing: Promise<void> | undefined;

  /** Use `openMysqlStore`, which also checks that the database answers. */
  constructor(options: MysqlStoreOptions) {
    this.policy = { ...options.policy };
    this.names = mysqlNames(options.tablePrefix);
    this.connections = new MysqlConnections(options);
    this.ctx = { sql: mysqlQueries(this.names), policy: this.policy };
    this.watcher = new WorkWatcher(this.connections.main, this.ctx.sql.watchProbe);
  }

  private get main() {
    return this.connections.main;
  }

  async migrate(): Promise<MigrateResult> {
    let connection;
    try {
      connection = await this.connections.connect();
    } catch (err) {
      throw classifyMysqlError(err);
    }
    try {
      return await runMigrations(connection, this.names);
    } catch (err) {
      throw classifyMysqlError(err);
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  }

  /** Checks that the database answers; a classified `StoreError` otherwise. */
  async ping(): Promise<void> {
    await runRead(this.main, 'SELECT 1');
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      this.watcher.close();
      await this.connections.end();
    })();
    return this.closing;
  }

  async stepSubmit(params: StepSubmitParams): Promise<StepSubmitResult> {
    const { now, ...step } = params;
    const [result] = await this.submitItems([step], now, false);
    return result!;
  }

  async stepSubmitBatch(params: StepSubmitBatchParams): Promise<StepSubmitBatchResult> {
    return { results: await this.submitItems(params.steps, params.now) };
  }

  private async submitItems(steps: StepSubmitBatchParams['steps'], now: number | undefined, inBatch = true): Promise<StepSubmitResult[]> {
    const items = prepareItems(steps);
    if (items.length === 0) return [];
    const resolved = checkDependencies(steps, inBatch);
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await inTransaction(this.main, (c) => insertItems(c, this.ctx, items, now, resolved, inBatch));
        if (results.some((r, i) => r.outcome === 'submitted' && items[i]!.delayMs === 0)) this.watcher.notify();
        return results;
      } catch (err) {
        const keyRace = (err as StoreError).driverCode === '1062' && String((err as Error).message).includes('st_idem_ux');
        if (!keyRace || attempt >= KEY_RACE_RUNS) throw err;
      }
    }
  }

  async stepClaim(params: StepClaimParams): Promise<ClaimedStepRow[]> {
    const limited = limitedTypes(params).map((l) => l.type);
    if (limited.length > 0) return withFlowLocks(this.main, this.ctx, this.names.migrationLockSuffix, limited, (c) => claimSteps(c, this.ctx, params));
    return inTransaction(this.main, (c) => claimSteps(c, this.ctx, params));
  }

  async stepComplete(params: StepCompleteParams): Promise<FencedWriteResult<'completed'>> {
    return this.completions.submit({ params, result: serialiseResult(params.result) });
  }

  /** Many completions, one transaction per round of distinct steps (rounds.ts); results in order. */
  async stepCompleteMany(params: StepCompleteManyParams): Promise<FencedWriteOutcome<'completed'>[]> {
    // Every result is serialised first, so one the store refuses writes nothing.
    const items = params.items.map((p) => ({ params: p, result: serialiseResult(p.result) }));
    const written = await writeInRounds(
      items,
      (item) => item.params.stepId,
      (round) => this.completeMany(round),
    );
    return written.map(outcomeOf);
  }

  /** Fenced completes of distinct steps in one transaction; rows locked in primary-key order. */
  private async completeMany(items: readonly PendingCompletion[]): Promise<FencedWriteResult<'completed'>[]> {
    return inTransaction(this.main, async (c) => {
      const locked = await run<LockedStepRecord>(c, this.ctx.sql.stepLockMany, [null, items.map((i) => i.params.stepId)]);
      const byId = new Map(locked.map((r) => [r.step_id, r]));
      const dbNow = locked[0] === undefined ? await readClock(c, this.ctx, undefined) : Number(locked[0].now_ms);
      const outcomes: FencedWriteResult<'completed'>[] = [];
      const events: NewEvent[] = [];
      for (const { params, result } of items) {
        // Each item keeps its own test clock; without one, the transaction's clock.
        const now = params.now ?? dbNow;
        const done = await completeLocked(c, this.ctx, params, byId.get(params.stepId), now, result);
        outcomes.push(done.outcome);
        events.push(done.event);
      }
      await insertEvents(c, this.ctx, events);
      await openGates(
        c,
        this.ctx,
        outcomes.flatMap((o) => (o.applied ? [o.step.stepId] : [])),
      );
      return outcomes;
    });
  }

  async stepFail(params: StepFailParams): Promise<FencedWriteResult<'retried' | 'dead_lettered'>> {
    const failure = { release: false, error: params.error, retryable: params.retryable, reason: params.reason };
    // With release false the outcome is never 'released'.
    const outcome = (await inTransaction(this.main, (c) => failLocked(c, this.ctx, params, failure))) as FencedWriteResult<'retried' | 'dead_lettered'>;
    this.notifyIfClaimable(outcome);
    return outcome;
  }

  async stepRelease(params: StepReleaseParams): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    const why = params.reason === undefined || params.reason === '' ? '' : ` (${params.reason})`;
    const error = `released after ${this.policy.maxReleases} earlier releases${why}; counted as a retry`;
    const failure = { release: true, error, retryable: true, reason: 'release' as const };
    const outcome = await inTransaction(this.main, (c) => failLocked(c, this.ctx, params, failure));
    this.notifyIfClaimable(outcome);
    return outcome;
  }

  async stepGet(params: { readonly stepId: string }): Promise<StepRow | null> {
    return getStep(this.main, this.ctx, params.stepId);
  }

  async stepReplay(params: StepReplayParams): Promise<StepRow> {
    const row = await inTransaction(this.main, async (c) => {
      const [locked] = await run<LockedStepRecord>(c, this.ctx.sql.stepLock, [params.now ?? null, params.stepId]);
      if (locked === undefined) throw new NotFoundError(`step ${params.stepId} not found`);
      if (locked.status !== 'failed') {
        throw new ConflictError(`step ${params.stepId} is ${locked.status}, not failed; only dead-lettered steps can be replayed`);
      }
      const now = Number(locked.now_ms);
      await write(c, this.ctx.sql.stepReplay, [now, now, params.stepId]);
      const step: StepRow = { ...toStepRow(locked), status: 'pending', claimedBy: null, retryCount: 0, runAfter: now, lastUpdateTs: now };
      await insertEvents(c, this.ctx, [
        { stepId: step.stepId, ts: now, kind: 'replayed', podId: null, attempt: step.attempt, detail: { old_retry_count: locked.retry_count } },
      ]);
      await cascadeRevival(c, this.ctx, step.stepId, now);
      return step;
    });
    this.watcher.notify();
    return row;
  }

  async stepParentResults(params: { readonly stepId: string }): Promise<{ [parentStepId: string]: Json | null }> {
    return readParentResults(this.main, this.ctx, params.stepId);
  }

  async workflowGraph(params: WorkflowGraphParams): Promise<WorkflowGraph | null> {
    return walkWorkflow(params.stepId, params.limit, {
      edgesTouching: (ids) => readEdgesTouching(this.main, this.ctx, ids),
      rows: (ids) => readSteps(this.main, this.ctx, ids),
    });
  }

  async stepCancel(params: StepCancelParams): Promise<StepCancelResult> {
    return inTransaction(this.main, (c) => cancelLocked(c, this.ctx, params.stepId, params.now));
  }

  async stepProgress(params: StepProgressParams): Promise<StepProgressResult> {
    const progress = serialiseProgress(params.progress);
    return inTransaction(this.main, (c) => progressLocked(c, this.ctx, params, progress));
  }

  async stepCancelledAmong(params: StepCancelledAmongParams): Promise<string[]> {
    if (params.stepIds.length === 0) return [];
    const rows = await runRead<{ step_id: string }>(this.main, this.ctx.sql.stepCancelledAmong, [[...params.stepIds], params.podId]);
    return rows.map((r) => r.step_id);
  }

  async eventList(params: EventListParams): Promise<StepEvent[]> {
    return listEvents(this.main, this.ctx, params);
  }

  async podRegister(params: PodRegisterParams): Promise<PodRow> {
    return inTransaction(this.connections.control, (c) => registerPod(c, this.ctx, params));
  }

  async podHeartbeat(params: PodHeartbeatParams): Promise<PodHeartbeatResult> {
    return heartbeatPod(this.connections.control, this.ctx, params);
  }

  async podMarkDown(params: { readonly podId: string } & AtTime): Promise<void> {
    await runRead(this.connections.control, this.ctx.sql.podMarkDown, [params.podId]);
  }

  async podList(params?: AtTime): Promise<PodRow[]> {
    return listPods(this.main, this.ctx, params?.now);
  }

  async leaderGet(params?: AtTime): Promise<LeaderInfo> {
    return readLeader(this.connections.control, this.ctx, params?.now);
  }

  async recoverySweep(params: RecoverySweepParams = {}): Promise<RecoverySummary> {
    const startedAt = Date.now();
    const dryRun = params.dryRun === true;
    const options = { dryRun, ...(params.now === undefined ? {} : { now: params.now }), ...(params.podId === undefined ? {} : { podId: params.podId }) };
    const summary = await inTransaction(this.main, (c) => sweep(c, this.ctx, options, startedAt));
    // Recovered steps wait out their backoff (the watcher probes for them when due); only a zero
    // backoff makes them claimable at once.
    if (!dryRun && summary.requeued.length > 0 && this.policy.baseDelayMs <= 0) this.watcher.notify();
    return summary;
  }

  async queueStats(params?: AtTime): Promise<QueueStats> {
    return readQueueStats(this.main, this.ctx, params?.now);
  }

  async dlqList(params: DlqListParams): Promise<DlqListResult> {
    return listDlq(this.main, this.ctx, params);
  }

  /**
   * Prunes in chunks of RETENTION_CHUNK steps, each its own short transaction, until a chunk finds
   * fewer: the first prune after months of history may delete millions of rows, which as one
   * transaction would hold its locks (and grow the undo log) throughout. Every chunk is consistent
   * on its own (a step goes with all its events), so stopping between chunks is harmless.
   */
  async queueAge(params?: AtTime): Promise<QueueAgeResult> {
    return readQueueAge(this.main, this.ctx, params?.now);
  }

  async stepList(params: StepListParams): Promise<StepRow[]> {
    return listSteps(this.main, this.ctx, params);
  }

  async queueActivity(params: QueueActivityParams): Promise<QueueActivity> {
    return readActivity(this.main, this.ctx, params);
  }

  async retentionPrune(params: RetentionPruneParams): Promise<RetentionPruneResult> {
    const total = { steps: 0, events: 0, pods: 0 };
    if (!(params.olderThanMs > 0)) return total;
    // Every chunk judges by the first reading of the clock, so the cutoff does not move while pruning.
    const now = params.now ?? (await inTransaction(this.main, (c) => readClock(c, this.ctx, undefined)));
    const cutoff = now - params.olderThanMs;
    for (;;) {
      const chunk = await inTransaction(this.main, (c) => pruneChunk(c, this.ctx, cutoff, RETENTION_CHUNK));
      total.steps += chunk.steps;
      total.events += chunk.events;
      total.pods += chunk.pods;
      if (chunk.steps < RETENTION_CHUNK) return total;
    }
  }

  watchWork(onWork: () => void): () => void {
    if (this.closing !== undefined) return () => undefined;
    return this.watcher.subscribe(onWork);
  }

  private notifyIfClaimable(outcome: FencedWriteResult<string>): void {
    if (outcome.applied && outcome.step.status === 'pending' && outcome.step.runAfter <= outcome.step.lastUpdateTs) this.watcher.notify();
  }
}

/**
 * Opens a MySQL store and checks that the database answers (a classified `StoreError` otherwise,
 * with nothing left open). Does not migrate: call `migrate()` (or `openStore`, which does).
 * Throws `ValidationError` for an invalid table prefix before connecting.
 */
export async function openMysqlStore(options: MysqlStoreOptions): Promise<MysqlStore> {
  const store = new MysqlStore(options);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
