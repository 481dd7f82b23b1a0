/**
 * `SqliteStore`: the `Store` contract on one SQLite file shared by every pod process of one host
 * (better-sqlite3 12). Owns connections, pragmas, transaction boundaries and the busy-retry loop;
 * the rules live in the operation modules beside it and the SQL in queries.ts.
 *
 * Concurrency: WAL (readers never wait for the writer), synchronous=NORMAL (durable at checkpoints,
 * safe against corruption), every write a `BEGIN IMMEDIATE` transaction so two writers queue at
 * BEGIN instead of deadlocking at upgrade, and a 30 ms busy_timeout plus async jittered retry so a
 * file held by another process never blocks the event loop for long.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ValidationError } from '../../errors.js';
import { pruneInBatches, pruneInTimedBatches } from '../batches.js';
import { WriteCoalescer } from '../coalesce.js';
import { serialiseProgress, serialiseResult } from '../json.js';
import { tableNames, type TableNames } from '../schema.js';
import type {
  QueueActivity,
  QueueActivityParams,
  StepListParams,
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
  QueueAgeResult,
  QueueStats,
  RecoverySummary,
  RecoverySweepParams,
  RetentionPruneParams,
  RetentionPruneResult,
  StepCancelledAmongParams,
  StepCancelParams,
  StepCancelResult,
  StepClaimParams,
  StepCompleteManyParams,
  StepCompleteParams,
  StepEvent,
  StepFailParams,
  StepProgressParams,
  StepProgressResult,
  StepReleaseParams,
  StepReplayParams,
  StepRow,
  StepSubmitBatchParams,
  StepSubmitBatchResult,
  StepSubmitParams,
  StepSubmitResult,
  Store,
  Json,
  WorkflowGraph,
  WorkflowGraphParams,
  StoreCapabilities,
  StorePolicy,
} from '../store.js';
import { classifySqliteError } from './classify.js';
import { StatementCache, type SqliteContext } from './context.js';
import { claimSteps, completeStep, completeStepOutcomes, completeSteps, failStep, lookBeforeClaim, releaseStep, type Completion } from './fenced.js';
import { IdleClaimMemo, type ChangeMarkers } from './idle-claims.js';
import { cancelledAmong, cancelStep, progressStep } from './control.js';
import { applyMigrations } from './migrations.js';
import { heartbeatPod, listPods, markPodDown, readLeader, registerPod } from './pods.js';
import { sqliteQueries, type SqliteQueries } from './queries.js';
import { listSteps, readActivity } from './browse.js';
import { getStep, listDlq, listEvents, readQueueAge, readQueueStats } from './reads.js';
import { prunePods, pruneStepBatch, sweep, sweepPreview } from './recovery.js';
import { replayStep } from './replay.js';
import { DEFAULT_BUSY_RETRY, withBusyRetry, type BusyRetryPolicy } from './retry.js';
import { insertSubmission, serialiseBatch, serialiseSubmission } from './submit.js';
import { WorkWatcher } from './watch.js';
import { WalCheckpointer, type CheckpointProgress } from './checkpointer.js';
import { databaseFileChanges } from './file-changes.js';
import { readEdgesTouching, readParentResults, readSteps } from './workflow.js';
import { checkDependencies, parentIds, walkWorkflow } from '../workflow.js';

/**
 * Retention batch sizes: the first batch's steps and the duration later batches aim at. A batch of
 * 1,000 completed steps with their 3,000 events took 57 ms on average on a loaded 2-core machine, and
 * a fixed 500 still made a claim beside a 1,000,000-step prune wait up to 146 ms there (a batch runs
 * synchronously, and its commit may run a WAL checkpoint). Aiming each batch at 20 ms leaves a claim
 * room under its 100 ms bound even when one batch takes several times its target.
 */
export const RETENTION_BATCH = 200;
export const RETENTION_BATCH_TARGET_MS = 20;
const RETENTION_BATCH_MIN = 20;
const RETENTION_BATCH_MAX = 2_000;

/** Short enough that one blocked attempt costs the event loop little; the retry loop does the waiting. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30;

export interface SqliteStoreOptions {
  /** The database file (created 0600 if missing), or `:memory:` for a private in-process store. */
  readonly path: string;
  readonly tablePrefix?: string;
  readonly policy: StorePolicy;
  /** SQLite's own wait for a lock, per attempt (default 30 ms). */
  readonly busyTimeoutMs?: number;
  /** The async retry loop around each transaction (default: up to 5 s). */
  readonly busyRetry?: BusyRetryPolicy;
}

type Run = <T>(operation: () => T) => T;

/** The SQLite store. Open with `openSqliteStore`, then call `migrate()`. */
export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'sqlite', pushNotifications: false };
  readonly policy: StorePolicy;
  /** Table names in use (prefix applied). */
  readonly tables: TableNames;
  /** Attempts retried because the file was busy, since open; tests and metrics read it. */
  busyRetries = 0;

  private readonly ctx: SqliteContext;
  private readonly immediate: Run;
  private readonly deferred: Run;
  private readonly watcher: WorkWatcher;
  /** Background WAL checkpoints (checkpointer.ts); none for an in-memory database. */
  private readonly checkpointer: WalCheckpointer | undefined;
  /**
   * Completions requested in one event-loop turn share one transaction (coalesce.ts): a commit
   * appends every page it touched to the WAL, and the steps of one claim touch the same index pages.
   * Measured with `npm run bench -- --store sqlite` (one pod, 10,000 no-op steps, median of 3):
   * 1,170 → 1,452 steps/s at P=10 and 1,800 → 2,127 at P=50.
   */
  private readonly completions: WriteCoalescer<Completion, FencedWriteResult<'completed'>>;
  private closed = false;
  /** Write transactions this store has begun, committed or not: part of the idle-claim memo's change markers. */
  private ownWrites = 0;
  private readonly idleClaims = new IdleClaimMemo();

  /** @internal Use `openSqliteStore`. */
  constructor(
    private readonly db: Database.Database,
    private readonly watchDb: Database.Database,
    tables: TableNames,
    queries: SqliteQueries,
    policy: StorePolicy,
    private readonly busyRetry: BusyRetryPolicy,
  ) {
    this.policy = policy;
    this.tables = tables;
    const cache = new StatementCache(db, queries);
    this.ctx = { db, policy, statement: (name) => cache.get(name) };
    const tx = db.transaction((operation: () => unknown) => operation());
    this.immediate = (operation) => tx.immediate(operation) as ReturnType<typeof operation>;
    this.deferred = (operation) => tx.deferred(operation) as ReturnType<typeof operation>;
    const watchCache = watchDb === db ? cache : new StatementCache(watchDb, queries);
    this.completions = new WriteCoalescer({
      writeBatch: (items) => this.write(() => completeSteps(this.ctx, items)),
      writeOne: (c) => this.write(() => completeStep(this.ctx, c.ref, c.resultJson, c.now)),
      key: (item) => item.ref.stepId,
    });
    this.checkpointer =
      watchDb === db
        ? undefined
        : new WalCheckpointer(db.name, queries.pragmaWalCheckpointPassive, {
            started: () => this.ctx.statement('pragmaWalAutocheckpointFallback').get(),
            stopped: () => {
              if (!this.closed) this.ctx.statement('pragmaWalAutocheckpointDefault').get();
            },
          });
    this.watcher = new WorkWatcher(
      () => ({ dataVersion: watchCache.get('pragmaDataVersion'), probe: watchCache.get('watchProbe') }),
      // An in-memory database has no files, and only this connection writes it.
      { fileChanges: watchDb === db ? undefined : databaseFileChanges(db.name) },
    );
  }

  async migrate(): Promise<MigrateResult> {
    return this.write(() => applyMigrations(this.ctx, this.tables, Date.now()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    await this.checkpointer?.close();
    if (this.watchDb !== this.db) this.watchDb.close();
    this.db.close();
  }

  async stepSubmit(params: StepSubmitParams): Promise<StepSubmitResult> {
    const { prepared, problems } = serialiseSubmission(params);
    if (prepared === undefined) throw new ValidationError('invalid step', problems);
    const parents = parentIds(checkDependencies([params], false)[0]!, []);
    const now = nowOf(params);
    const result = await this.write(() => insertSubmission(this.ctx, prepared, now, '', parents));
    if (result.outcome === 'submitted' && prepared.delayMs === 0) this.watcher.notify();
    return result;
  }

  async stepSubmitBatch(params: StepSubmitBatchParams): Promise<StepSubmitBatchResult> {
    const prepared = serialiseBatch(params.steps);
    if (prepared.length === 0) return { results: [] };
    const resolved = checkDependencies(params.steps, true);
    const now = nowOf(params);
    const results = await this.write(() => {
      const ids: string[] = [];
      return prepared.map((p, i) => {
        const r = insertSubmission(this.ctx, p, now, `item ${i}: `, parentIds(resolved[i]!, ids), i);
        ids.push(r.stepId);
        return r;
      });
    });
    if (results.some((r, i) => r.outcome === 'submitted' && prepared[i]!.delayMs === 0)) this.watcher.notify();
    return { results };
  }

  async stepClaim(params: StepClaimParams): Promise<ClaimedStepRow[]> {
    const now = nowOf(params);
    const types = JSON.stringify(params.types);
    if (this.idleClaims.nothingDue(params.podId, types, now, () => this.changeMarkers())) return [];
    const look = await this.read(() => {
      // Read before the look, so a commit landing in between can only make the memo look again.
      const markers = this.changeMarkers();
      const seen = lookBeforeClaim(this.ctx, params.podId, types, now);
      if (seen.claimable) this.idleClaims.forget();
      else this.idleClaims.remember(params.podId, types, markers, seen.nextDue);
      return seen;
    });
    if (!look.claimable || params.types.length === 0 || Math.floor(params.limit) <= 0) return [];
    return this.write(() => claimSteps(this.ctx, params, now));
  }

  async stepComplete(params: StepCompleteParams): Promise<FencedWriteResult<'completed'>> {
    return this.completions.submit({ ref: params, resultJson: serialiseResult(params.result), now: nowOf(params) });
  }

  /** All items in one `BEGIN IMMEDIATE` transaction, in order (a repeated step sees its earlier write). */
  async stepCompleteMany(params: StepCompleteManyParams): Promise<FencedWriteOutcome<'completed'>[]> {
    const items = params.items.map((p) => ({ ref: p, resultJson: serialiseResult(p.result), now: nowOf(p) }));
    if (items.length === 0) return [];
    return this.write(() => completeStepOutcomes(this.ctx, items));
  }

  async stepFail(params: StepFailParams): Promise<FencedWriteResult<'retried' | 'dead_lettered'>> {
    const now = nowOf(params);
    const outcome = await this.write(() => failStep(this.ctx, params, now));
    this.notifyIfClaimable(outcome, now);
    return outcome;
  }

  async stepRelease(params: StepReleaseParams): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    const now = nowOf(params);
    const outcome = await this.write(() => releaseStep(this.ctx, params, now));
    this.notifyIfClaimable(outcome, now);
    return outcome;
  }

  async stepGet(params: { readonly stepId: string }): Promise<StepRow | null> {
    return this.read(() => getStep(this.ctx, params.stepId));
  }

  async stepReplay(params: StepReplayParams): Promise<StepRow> {
    const now = nowOf(params);
    const row = await this.write(() => replayStep(this.ctx, params.stepId, now));
    this.watcher.notify();
    return row;
  }

  async stepParentResults(params: { readonly stepId: string }): Promise<{ [parentStepId: string]: Json | null }> {
    return this.read(() => readParentResults(this.ctx, params.stepId));
  }

  async workflowGraph(params: WorkflowGraphParams): Promise<WorkflowGraph | null> {
    return walkWorkflow(params.stepId, params.limit, {
      edgesTouching: (ids) => this.read(() => readEdgesTouching(this.ctx, ids)),
      rows: (ids) => this.read(() => readSteps(this.ctx, ids)),
    });
  }

  async stepCancel(params: StepCancelParams): Promise<StepCancelResult> {
    const now = nowOf(params);
    return this.write(() => cancelStep(this.ctx, params.stepId, now));
  }

  async stepProgress(params: StepProgressParams): Promise<StepProgressResult> {
    const progressJson = serialiseProgress(params.progress);
    const now = nowOf(params);
    return this.write(() => progressStep(this.ctx, params, progressJson, now));
  }

  async stepCancelledAmong(params: StepCancelledAmongParams): Promise<string[]> {
    if (params.stepIds.length === 0) return [];
    return this.read(() => cancelledAmong(this.ctx, params.podId, params.stepIds));
  }

  async eventList(params: EventListParams): Promise<StepEvent[]> {
    return this.read(() => listEvents(this.ctx, params));
  }

  async podRegister(params: PodRegisterParams): Promise<PodRow> {
    const now = nowOf(params);
    return this.write(() => registerPod(this.ctx, params, now));
  }

  async podHeartbeat(params: PodHeartbeatParams): Promise<PodHeartbeatResult> {
    const now = nowOf(params);
    return this.write(() => heartbeatPod(this.ctx, params, now));
  }

  async podMarkDown(params: { readonly podId: string } & AtTime): Promise<void> {
    await this.write(() => markPodDown(this.ctx, params.podId));
  }

  async podList(params?: AtTime): Promise<PodRow[]> {
    const now = nowOf(params);
    return this.read(() => listPods(this.ctx, now));
  }

  async leaderGet(params?: AtTime): Promise<LeaderInfo> {
    const now = nowOf(params);
    return this.read(() => readLeader(this.ctx, now));
  }

  async recoverySweep(params: RecoverySweepParams = {}): Promise<RecoverySummary> {
    const now = nowOf(params);
    const startedAt = Date.now();
    if (params.dryRun === true) return this.read(() => sweepPreview(this.ctx, now, startedAt));
    const summary = await this.write(() => sweep(this.ctx, params.podId ?? null, now, startedAt));
    // Recovered steps wait out their backoff, so the watcher's run_after check picks them up; only
    // a zero backoff makes them claimable at once.
    if (summary.requeued.length > 0 && this.policy.baseDelayMs <= 0) this.watcher.notify();
    return summary;
  }

  async queueStats(params?: AtTime): Promise<QueueStats> {
    const now = nowOf(params);
    return this.read(() => readQueueStats(this.ctx, now));
  }

  async queueAge(params?: AtTime): Promise<QueueAgeResult> {
    const now = nowOf(params);
    return this.read(() => readQueueAge(this.ctx, now));
  }

  async dlqList(params: DlqListParams): Promise<DlqListResult> {
    return this.read(() => listDlq(this.ctx, params));
  }

  async stepList(params: StepListParams): Promise<StepRow[]> {
    return this.read(() => listSteps(this.ctx, params));
  }

  async queueActivity(params: QueueActivityParams): Promise<QueueActivity> {
    const now = nowOf(params);
    return this.read(() => readActivity(this.ctx, params, now));
  }

  /**
   * Prunes in batches, each its own write transaction, resting between them (batches.ts): SQLite
   * has one writer per file, so a million expired rows deleted at once would hold every claim and
   * heartbeat for seconds. `batchSize` fixes the steps per batch; by default sizes start at
   * `RETENTION_BATCH` and follow each batch's duration toward `RETENTION_BATCH_TARGET_MS`.
   */
  async retentionPrune(params: RetentionPruneParams): Promise<RetentionPruneResult> {
    if (!(params.olderThanMs > 0)) return { steps: 0, events: 0, pods: 0 };
    const cutoff = nowOf(params) - params.olderThanMs;
    const batch = (size: number) => this.write(() => ({ ...pruneStepBatch(this.ctx, cutoff, size), pods: 0 }));
    const total =
      params.batchSize === undefined
        ? await pruneInTimedBatches(
            { initial: RETENTION_BATCH, min: RETENTION_BATCH_MIN, max: RETENTION_BATCH_MAX, targetMs: RETENTION_BATCH_TARGET_MS },
            batch,
          )
        : await pruneInBatches(fixedSize(params.batchSize), () => batch(fixedSize(params.batchSize!)));
    return { ...total, pods: await this.write(() => prunePods(this.ctx, cutoff)) };
  }

  /** The connection settings in force on the write connection (diagnostics and tests). */
  connectionSettings(): { journalMode: string; synchronous: number; busyTimeoutMs: number; walAutocheckpointPages: number } {
    const read = (name: 'pragmaJournalModeRead' | 'pragmaSynchronousRead' | 'pragmaBusyTimeoutRead' | 'pragmaWalAutocheckpointRead'): unknown =>
      this.ctx.statement(name).pluck().get();
    return {
      journalMode: String(read('pragmaJournalModeRead')),
      synchronous: Number(read('pragmaSynchronousRead')),
      busyTimeoutMs: Number(read('pragmaBusyTimeoutRead')),
      walAutocheckpointPages: Number(read('pragmaWalAutocheckpointRead')),
    };
  }

  /** Whether WAL checkpoints run on the background worker now (checkpointer.ts; diagnostics and tests). */
  get backgroundCheckpoints(): boolean {
    return this.checkpointer?.running ?? false;
  }

  /** The background worker's latest checkpoint that changed anything; undefined before one. */
  get lastBackgroundCheckpoint(): CheckpointProgress | undefined {
    return this.checkpointer?.lastCheckpoint;
  }

  watchWork(onWork: () => void): () => void {
    if (this.closed) return () => {};
    return this.watcher.subscribe(onWork);
  }

  /** What tells this connection the file changed: others' commits, and its own writes. */
  private changeMarkers(): ChangeMarkers {
    return { dataVersion: this.ctx.statement('pragmaDataVersion').pluck().get() as number, ownWrites: this.ownWrites };
  }

  /** One `BEGIN IMMEDIATE` transaction, retried while the file is busy. */
  private write<T>(operation: () => T): Promise<T> {
    return withBusyRetry(
      () => {
        this.ownWrites++;
        this.checkpointer?.noteWrite();
        return this.immediate(operation);
      },
      classifySqliteError,
      this.busyRetry,
      () => this.busyRetries++,
    );
  }

  /** One deferred (read) transaction: several statements, one snapshot. */
  private read<T>(operation: () => T): Promise<T> {
    return withBusyRetry(
      () => this.deferred(operation),
      classifySqliteError,
      this.busyRetry,
      () => this.busyRetries++,
    );
  }

  private notifyIfClaimable(outcome: FencedWriteResult<string>, now: number): void {
    if (outcome.applied && outcome.step.status === 'pending' && outcome.step.runAfter <= now) this.watcher.notify();
  }
}

/**
 * Opens (creating if missing) the file and sets the pragmas. Does not migrate: call `migrate()`.
 * Several processes may open one file at once; switching to WAL is retried while another holds it.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const tables = tableNames(options.tablePrefix ?? '');
  const queries = sqliteQueries(tables);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const busyRetry = options.busyRetry ?? DEFAULT_BUSY_RETRY;
  const inMemory = options.path === ':memory:' || options.path === '';
  if (!inMemory) createPrivateFile(options.path);
  const db = new Database(options.path, { timeout: busyTimeoutMs });
  let watchDb: Database.Database | undefined;
  try {
    if (!inMemory) {
      await withBusyRetry(() => db.prepare(queries.pragmaJournalModeWal).get(), classifySqliteError, busyRetry);
    }
    // Per connection, not persisted in the file: every connection of ours sets it.
    db.prepare(queries.pragmaSynchronousNormal).run();
    // The watcher polls on its own connection so its reads never queue behind this store's writes.
    watchDb = inMemory ? db : new Database(options.path, { timeout: busyTimeoutMs });
    return new SqliteStore(db, watchDb, tables, queries, options.policy, busyRetry);
  } catch (err) {
    if (watchDb !== undefined && watchDb !== db) watchDb.close();
    db.close();
    throw classifySqliteError(err);
  }
}

/** Creates the file readable by its owner only (it holds every step's args); an existing file is left as is. */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw classifySqliteError(err);
  }
}

function fixedSize(batchSize: number): number {
  return Math.max(1, Math.floor(batchSize));
}

function nowOf(params: AtTime | undefined): number {
  return params?.now ?? Date.now();
}
