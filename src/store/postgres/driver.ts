/**
 * The PostgreSQL `Store` (DESIGN §3): each method is one statement of queries.ts or
 * queries.maintenance.ts, hence one round trip and one transaction, run on the main pool; heartbeats
 * and leadership run on the reserved control pool, claims on a connection of their own that runs
 * the claim's generic plan (connection.ts); migrations take one dedicated connection. Two
 * deliberate exceptions: retention prunes a large backlog in chunks, each its own transaction (see
 * `retentionPrune`), and completions arriving together share one statement (see `completions`;
 * each keeps its own fence and outcome). Owns the mapping from Store calls to statements and
 * results; must not hold SQL text, open transactions across calls, or hold a connection while a
 * step runs.
 *
 * Hot paths (submit, claim, complete, fail/release, heartbeat) are named prepared statements, so
 * each connection parses and plans them once.
 */
import { limitedTypes } from '../flow.js';
import { ConflictError, NotFoundError, PodFencedError } from '../../errors.js';
import type { StoreError } from '../../errors.js';
import { pruneInBatches } from '../batches.js';
import { WriteCoalescer } from '../coalesce.js';
import { serialiseProgress, serialiseResult } from '../json.js';
import { writeInRounds } from '../rounds.js';
import type {
  Json,
  WorkflowGraph,
  WorkflowGraphParams,
  QueueActivity,
  QueueActivityParams,
  StepListParams,
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
  StepClaimParams,
  TypeFlowLimit,
  StepCompleteManyParams,
  StepCompleteParams,
  StepEvent,
  StepEventKind,
  StepFailParams,
  StepReleaseParams,
  StepReplayParams,
  StepRow,
  StepCancelledAmongParams,
  StepCancelParams,
  StepCancelResult,
  StepProgressParams,
  StepProgressResult,
  StepStatus,
  StepSubmitBatchParams,
  StepSubmitBatchResult,
  StepSubmitParams,
  StepSubmitResult,
  Store,
  StoreCapabilities,
  StorePolicy,
  AtTime,
} from '../store.js';
import { outcomeOf } from '../store.js';
import { PgConnections, runQuery } from './connection.js';
import type { QueryResultRow } from 'pg';
import { runMigrations } from './migrations.js';
import { pgNames, type PgNames } from './names.js';
import * as browseSql from './queries.browse.js';
import * as controlSql from './queries.control.js';
import * as maintenanceSql from './queries.maintenance.js';
import * as stepSql from './queries.js';
import * as workflowSql from './workflow.js';
import { walkWorkflow } from '../workflow.js';
import {
  byClaimOrder,
  toPodRow,
  toQueueStats,
  toRecoverySummary,
  toStepEvent,
  toClaimedStepRow,
  toStepRow,
  type ClaimedRecord,
  type EventRecord,
  type PodRecord,
  type StatsRecord,
  type StepRecord,
  type SweepRecord,
} from './rows.js';
import { submitSteps } from './submit.js';
import { WorkWatcher } from './watch.js';

/** Options of `openPostgresStore`. */
export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:port/database` (libpq URL syntax as `pg` reads it). Settings in
   * the URL (`sslmode`, `application_name`, …) take precedence over the options below.
   */
  readonly url: string;
  /** FLEET_Q_DB_SCHEMA; default `public`. Created by `migrate()` when missing. */
  readonly schema?: string;
  /** FLEET_Q_TABLE_PREFIX; default empty. */
  readonly tablePrefix?: string;
  readonly policy: StorePolicy;
  /** Size of the main pool (steps, reads, sweeps); heartbeats have two more connections of their own. Default 10. */
  readonly poolSize?: number;
  readonly ssl?: { readonly rejectUnauthorized?: boolean; readonly ca?: string };
  /** Background connection failures (idle pool clients, the LISTEN connection), classified; never thrown. */
  readonly onError?: (err: StoreError) => void;
}

/** The claim statement of each list limit (`claimListLimit`), built on first use: a dozen at most. */
function claimStatements(n: PgNames): (limit: number) => { readonly name: string; readonly text: string } {
  const built = new Map<number, { readonly name: string; readonly text: string }>();
  return (limit) => {
    const listLimit = stepSql.claimListLimit(limit);
    let statement = built.get(listLimit);
    if (statement === undefined) {
      statement = { name: `fleet_q_step_claim_${listLimit}`, text: stepSql.stepClaimSql(n, listLimit) };
      built.set(listLimit, statement);
    }
    return statement;
  };
}

/** The statements of one store, built once from its table names. */
function statements(n: PgNames) {
  return {
    submit: stepSql.stepSubmitSql(n),
    claim: claimStatements(n),
    claimLimited: stepSql.stepClaimLimitedSql(n),
    flowLock: stepSql.flowLockSql(),
    complete: stepSql.stepCompleteSql(n),
    completeBatch: stepSql.stepCompleteBatchSql(n, true),
    completeBatchOutcomes: stepSql.stepCompleteBatchSql(n, false),
    fail: stepSql.stepFailSql(n),
    get: stepSql.stepGetSql(n),
    replay: stepSql.stepReplaySql(n),
    events: stepSql.eventListSql(n),
    cancel: controlSql.stepCancelSql(n),
    progress: controlSql.stepProgressSql(n),
    cancelledAmong: controlSql.stepCancelledAmongSql(n),
    podRegister: maintenanceSql.podRegisterSql(n),
    podHeartbeat: maintenanceSql.podHeartbeatSql(n),
    podMarkDown: maintenanceSql.podMarkDownSql(n),
    podList: maintenanceSql.podListSql(n),
    leader: maintenanceSql.leaderGetSql(n),
    sweep: maintenanceSql.recoverySweepSql(n),
    sweepPreview: maintenanceSql.recoveryPreviewSql(n),
    stats: maintenanceSql.queueStatsSql(n),
    queueAge: maintenanceSql.queueAgeSql(n),
    dlq: maintenanceSql.dlqListSql(n),
    listPending: browseSql.stepListPendingSql(n),
    listByUpdate: browseSql.stepListByUpdateSql(n),
    listNewest: browseSql.stepListNewestSql(n),
    activity: browseSql.queueActivitySql(n),
    prune: maintenanceSql.retentionPruneSql(n),
    analyze: maintenanceSql.analyzeStepsSql(n),
    parentResults: workflowSql.parentResultsSql(n),
    edgesTouching: workflowSql.edgesTouchingSql(n),
    getMany: workflowSql.stepGetManySql(n),
  };
}

/**
 * Steps (with their events) deleted per retention statement. 5,000 steps with 15,000 events took
 * about 200 ms a chunk beside claims on a loaded 2-core machine, and a claim meanwhile waited up to
 * 123 ms for CPU and I/O (`npm run bench -- --scale`); 2,000 keeps each chunk well under 100 ms.
 */
const RETENTION_CHUNK = 2_000;

/** Steps inserted by one store before it asks for fresh statistics, and the least time between two asks. */
const ANALYZE_AFTER_ROWS = 5_000;
const ANALYZE_INTERVAL_MS = 60_000;

/** A completion waiting for its batch: the call's parameters and its serialised result. */
interface PendingCompletion {
  readonly params: StepCompleteParams;
  readonly result: string;
}

type FencedRow = StepRecord & { readonly outcome: 'released' | 'retried' | 'dead_lettered' };

/** `now` as bound: the test clock, or null for the database clock. */
function at(params: AtTime | undefined): number | null {
  return params?.now ?? null;
}

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'postgres', pushNotifications: true };
  readonly policy: StorePolicy;
  readonly names: PgNames;
  private readonly connections: PgConnections;
  private readonly sql: ReturnType<typeof statements>;
  private readonly watcher: WorkWatcher;
  /**
   * Completions that arrive while the previous batch commits are written as one statement
   * (coalesce.ts), so a busy pod pays one commit (one WAL flush) per batch instead of per step.
   * Measured with `npm run bench` (one pod, 6,000 no-op steps, median of 3 on a 2-core host):
   * statements per completed step 1.28 → 0.58 at P=10 and 1.07 → 0.13 at P=50; 979 → 1,437 steps/s
   * at P=50, no measurable change at P=10 (there the claim's round trip bounds the pod).
   */
  private readonly completions = new WriteCoalescer<PendingCompletion, FencedWriteResult<'completed'>>({
    writeBatch: (items) => this.completeBatch(items),
    writeOne: (item) => this.completeOne(item),
    key: (item) => item.params.stepId,
  });
  private closing: Promise<void> | undefined;
  private insertedSinceAnalyze = 0;
  private lastAnalyzeAt = Number.NEGATIVE_INFINITY;
  private analyzing = false;

  /** Use `openPostgresStore`, which also checks that the database answers. */
  constructor(options: PostgresStoreOptions) {
    this.policy = { ...options.policy };
    this.names = pgNames(options.schema, options.tablePrefix);
    this.connections = new PgConnections(options);
    this.sql = statements(this.names);
    this.watcher = new WorkWatcher({
      clientConfig: this.connections.clientConfig('listen'),
      names: this.names,
      report: (err) => this.connections.report(err),
    });
  }

  private get main() {
    return this.connections.main;
  }

  private get control() {
    return this.connections.control;
  }

  async migrate(): Promise<MigrateResult> {
    return this.connections.withSession((client) => runMigrations(client, this.names));
  }

  /** Checks that the database answers; a classified `StoreError` otherwise. */
  async ping(): Promise<void> {
    await runQuery(this.main, { text: 'SELECT 1' }, { idempotent: true });
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
    const [result] = await submitSteps(this.connections, this.names, this.sql.submit, [step], now, false);
    this.refreshStatistics(result!.outcome === 'submitted' ? 1 : 0);
    return result!;
  }

  async stepSubmitBatch(params: StepSubmitBatchParams): Promise<StepSubmitBatchResult> {
    const results = await submitSteps(this.connections, this.names, this.sql.submit, params.steps, params.now);
    this.refreshStatistics(results.filter((r) => r.outcome === 'submitted').length);
    return { results };
  }

  /**
   * Asks for fresh planner statistics of `step_tracker` once this store has inserted
   * `ANALYZE_AFTER_ROWS` steps since it last did, at most once per `ANALYZE_INTERVAL_MS`, in the
   * background. Until autovacuum first analyzes a new or fast-grown table (up to a minute), the
   * planner guesses a handful of pending rows and claims by sorting every due row: with 20,000 steps
   * a claim took 15–20 ms instead of 0.5 ms. Measured with `npm run bench` (20,000 no-op steps
   * enqueued into fresh tables, then one pod; 2 runs each): 439–474 → 681–1,192 steps/s at P=10 and
   * 1,182–1,533 → 1,959–2,247 at P=50. A role that may not analyze the table gets a warning only.
   */
  private refreshStatistics(inserted: number): void {
    this.insertedSinceAnalyze += inserted;
    const now = Date.now();
    if (this.analyzing || this.insertedSinceAnalyze < ANALYZE_AFTER_ROWS || now - this.lastAnalyzeAt < ANALYZE_INTERVAL_MS) return;
    this.analyzing = true;
    this.insertedSinceAnalyze = 0;
    this.lastAnalyzeAt = now;
    runQuery(this.main, { text: this.sql.analyze })
      .catch((err: unknown) => this.connections.report(err))
      .finally(() => {
        this.analyzing = false;
      });
  }

  async stepClaim(params: StepClaimParams): Promise<ClaimedStepRow[]> {
    const limit = Math.max(0, Math.floor(params.limit));
    const limited = limitedTypes(params);
    if (limited.length > 0) return this.claimWithinLimits(params, limited, limit);
    const { rows } = await runQuery<ClaimedRecord & { pod_up: number }>(this.connections.claim, {
      ...this.sql.claim(limit),
      values: [at(params), params.podId, [...params.types], limit],
    });
    if (rows[0]?.pod_up !== 1) throw new PodFencedError(params.podId);
    return rows
      .filter((r) => r.step_id !== null)
      .map(toClaimedStepRow)
      .sort(byClaimOrder);
  }

  /**
   * One transaction: the advisory locks of the limited types (so claims of a type run one at a time
   * across pods, while other types stay unlocked), one limited claim per type, then the other types
   * with what is left of `limit`. Rolled back as a whole on any error.
   */
  private async claimWithinLimits(params: StepClaimParams, limited: readonly TypeFlowLimit[], limit: number): Promise<ClaimedStepRow[]> {
    return this.connections.inTransaction(async (client) => {
      await client.query({ text: this.sql.flowLock, values: [limited.map((l) => `${this.names.migrationLockText}:flow:${l.type}`)] });
      const claimed: ClaimedStepRow[] = [];
      let left = limit;
      const run = async (text: string, name: string, types: readonly string[], values: unknown[]): Promise<void> => {
        const { rows } = await client.query<ClaimedRecord & { pod_up: number }>({
          name,
          text,
          values: [at(params), params.podId, [...types], left, ...values],
        });
        if (rows[0]?.pod_up !== 1) throw new PodFencedError(params.podId);
        const got = rows.filter((r) => r.step_id !== null).map(toClaimedStepRow);
        claimed.push(...got);
        left -= got.length;
      };
      for (const l of limited) {
        if (left === 0) break;
        await run(
          this.sql.claimLimited,
          'fleet_q_step_claim_limited',
          [l.type],
          [l.concurrency ?? null, l.rateLimit?.max ?? null, l.rateLimit?.intervalMs ?? null],
        );
      }
      const free = params.types.filter((t) => !limited.some((l) => l.type === t));
      if (left > 0 && free.length > 0) {
        const claim = this.sql.claim(left);
        await run(claim.text, claim.name, free, []);
      }
      return claimed.sort(byClaimOrder);
    });
  }

  async stepComplete(params: StepCompleteParams): Promise<FencedWriteResult<'completed'>> {
    return this.completions.submit({ params, result: serialiseResult(params.result) });
  }

  /**
   * One statement per round of distinct steps (`stepCompleteBatchSql`); a step named again goes to a
   * later round, so it is judged after the earlier write committed.
   */
  async stepCompleteMany(params: StepCompleteManyParams): Promise<FencedWriteOutcome<'completed'>[]> {
    // Every result is serialised first, so one the store refuses writes nothing.
    const items = params.items.map((p) => ({ params: p, result: serialiseResult(p.result) }));
    return writeInRounds(
      items,
      (item) => item.params.stepId,
      (round) => (round.length === 1 ? this.completeOne(round[0]!).then((r) => [outcomeOf(r)]) : this.completeBatchOutcomes(round)),
    );
  }

  private async completeOne({ params, result }: PendingCompletion): Promise<FencedWriteResult<'completed'>> {
    const { rows } = await runQuery<StepRecord>(this.main, {
      name: 'fleet_q_step_complete',
      text: this.sql.complete,
      values: [at(params), params.stepId, params.podId, params.attempt, result],
    });
    const row = rows[0];
    return row === undefined ? { applied: false, outcome: 'stale' } : { applied: true, outcome: 'completed', step: toStepRow(row) };
  }

  private async completeBatch(items: readonly PendingCompletion[]): Promise<FencedWriteResult<'completed'>[]> {
    const rows = await this.runCompleteBatch<StepRecord | { [column: string]: null }>('fleet_q_step_complete_batch', this.sql.completeBatch, items);
    return rows.map((row) =>
      row.step_id === null ? { applied: false, outcome: 'stale' } : { applied: true, outcome: 'completed', step: toStepRow(row as StepRecord) },
    );
  }

  private async completeBatchOutcomes(items: readonly PendingCompletion[]): Promise<FencedWriteOutcome<'completed'>[]> {
    const rows = await this.runCompleteBatch<{ step_id: string | null }>('fleet_q_step_complete_batch_outcomes', this.sql.completeBatchOutcomes, items);
    return rows.map((row) => (row.step_id === null ? { applied: false, outcome: 'stale' } : { applied: true, outcome: 'completed' }));
  }

  /** One row per item, in input order (`stepCompleteBatchSql`). */
  private async runCompleteBatch<R extends QueryResultRow>(name: string, text: string, items: readonly PendingCompletion[]): Promise<R[]> {
    const { rows } = await runQuery<R>(this.main, {
      name,
      text,
      values: [
        items.map((i) => at(i.params)),
        items.map((i) => i.params.stepId),
        items.map((i) => i.params.podId),
        items.map((i) => i.params.attempt),
        items.map((i) => i.result),
      ],
    });
    return rows;
  }

  async stepFail(params: StepFailParams): Promise<FencedWriteResult<'retried' | 'dead_lettered'>> {
    // With release false the statement never answers 'released'.
    const how = { release: false, error: params.error, retryable: params.retryable, reason: params.reason };
    return (await this.failOrRelease(params, how)) as FencedWriteResult<'retried' | 'dead_lettered'>;
  }

  async stepRelease(params: StepReleaseParams): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    const why = params.reason === undefined || params.reason === '' ? '' : ` (${params.reason})`;
    const error = `released after ${this.policy.maxReleases} earlier releases${why}; counted as a retry`;
    return this.failOrRelease(params, { release: true, error, retryable: true, reason: 'release' });
  }

  private async failOrRelease(
    ref: StepFailParams | StepReleaseParams,
    how: { readonly release: boolean; readonly error: string; readonly retryable: boolean; readonly reason: string },
  ): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    const p = this.policy;
    const { rows } = await runQuery<FencedRow>(this.main, {
      name: 'fleet_q_step_fail',
      text: this.sql.fail,
      values: [at(ref), ref.stepId, ref.podId, ref.attempt, how.error, how.release, p.maxReleases, how.retryable, how.reason, p.baseDelayMs, p.maxDelayMs],
    });
    const row = rows[0];
    return row === undefined ? { applied: false, outcome: 'stale' } : { applied: true, outcome: row.outcome, step: toStepRow(row) };
  }

  async stepGet(params: { readonly stepId: string }): Promise<StepRow | null> {
    const { rows } = await runQuery<StepRecord>(this.main, { text: this.sql.get, values: [params.stepId] }, { idempotent: true });
    return rows[0] === undefined ? null : toStepRow(rows[0]);
  }

  async stepReplay(params: StepReplayParams): Promise<StepRow> {
    const { rows } = await runQuery<StepRecord & { found_status: string | null }>(this.main, {
      text: this.sql.replay,
      values: [at(params), params.stepId],
    });
    const row = rows[0];
    if (row === undefined || row.found_status === null) throw new NotFoundError(`step ${params.stepId} not found`);
    if (row.step_id === null) throw new ConflictError(`step ${params.stepId} is ${row.found_status}, not failed; only dead-lettered steps can be replayed`);
    return toStepRow(row);
  }

  async stepParentResults(params: { readonly stepId: string }): Promise<{ [parentStepId: string]: Json | null }> {
    const { rows } = await runQuery<{ step_id: string; result: Json | null }>(
      this.main,
      { text: this.sql.parentResults, values: [params.stepId] },
      { idempotent: true },
    );
    return Object.fromEntries(rows.map((r) => [r.step_id, r.result ?? null]));
  }

  async workflowGraph(params: WorkflowGraphParams): Promise<WorkflowGraph | null> {
    return walkWorkflow(params.stepId, params.limit, {
      edgesTouching: async (ids) => {
        const { rows } = await runQuery<{ step_id: string; parent_step_id: string }>(
          this.main,
          { text: this.sql.edgesTouching, values: [[...ids]] },
          { idempotent: true },
        );
        return rows.map((r) => ({ stepId: r.step_id, parentStepId: r.parent_step_id }));
      },
      rows: async (ids) => {
        const { rows } = await runQuery<StepRecord>(this.main, { text: this.sql.getMany, values: [[...ids]] }, { idempotent: true });
        return rows.map(toStepRow);
      },
    });
  }

  async stepCancel(params: StepCancelParams): Promise<StepCancelResult> {
    const { rows } = await runQuery<StepRecord & { found_status: StepStatus | null }>(this.main, {
      name: 'fleet_q_step_cancel',
      text: this.sql.cancel,
      values: [at(params), params.stepId],
    });
    const row = rows[0];
    if (row === undefined || row.found_status === null) throw new NotFoundError(`step ${params.stepId} not found`);
    if (row.step_id === null) throw new ConflictError(`step ${params.stepId} is ${row.found_status}; only pending or claimed steps can be cancelled`);
    return { step: toStepRow(row), previousStatus: row.found_status };
  }

  async stepProgress(params: StepProgressParams): Promise<StepProgressResult> {
    const progress = serialiseProgress(params.progress);
    const { rows } = await runQuery<{ applied: boolean; status: StepStatus | null }>(this.main, {
      name: 'fleet_q_step_progress',
      text: this.sql.progress,
      values: [at(params), params.stepId, params.podId, params.attempt, progress],
    });
    const row = rows[0]!;
    return row.applied ? { applied: true } : { applied: false, status: row.status };
  }

  async stepCancelledAmong(params: StepCancelledAmongParams): Promise<string[]> {
    if (params.stepIds.length === 0) return [];
    const { rows } = await runQuery<{ step_id: string }>(
      this.main,
      { name: 'fleet_q_step_cancelled_among', text: this.sql.cancelledAmong, values: [params.stepIds, params.podId] },
      { idempotent: true },
    );
    return rows.map((r) => r.step_id);
  }

  async eventList(params: EventListParams): Promise<StepEvent[]> {
    const { rows } = await runQuery<EventRecord>(
      this.main,
      { text: this.sql.events, values: [params.stepId ?? null, params.afterEventId ?? null, params.limit ?? null] },
      { idempotent: true },
    );
    return rows.map(toStepEvent);
  }

  async podRegister(params: PodRegisterParams): Promise<PodRow> {
    const { rows } = await runQuery<PodRecord>(this.control, {
      text: this.sql.podRegister,
      values: [at(params), params.podId, params.name, JSON.stringify(params.meta), this.policy.deadPodThresholdMs, params.previousPodId ?? null],
    });
    return toPodRow(rows[0]!);
  }

  async podHeartbeat(params: PodHeartbeatParams): Promise<PodHeartbeatResult> {
    const { rows } = await runQuery<{ ts_ms: number; ok: boolean }>(
      this.control,
      {
        name: 'fleet_q_pod_heartbeat',
        text: this.sql.podHeartbeat,
        values: [at(params), params.podId, params.meta === undefined ? null : JSON.stringify(params.meta)],
      },
      // Setting last_heartbeat_ts to now twice is the same as once.
      { idempotent: true },
    );
    return { ok: rows[0]!.ok, ts: rows[0]!.ts_ms };
  }

  async podMarkDown(params: { readonly podId: string } & AtTime): Promise<void> {
    await runQuery(this.control, { text: this.sql.podMarkDown, values: [params.podId] }, { idempotent: true });
  }

  async podList(params?: AtTime): Promise<PodRow[]> {
    const { rows } = await runQuery<PodRecord>(
      this.main,
      { text: this.sql.podList, values: [at(params), this.policy.deadPodThresholdMs] },
      { idempotent: true },
    );
    return rows.map(toPodRow);
  }

  async leaderGet(params?: AtTime): Promise<LeaderInfo> {
    const { rows } = await runQuery<PodRecord & { checked_ms: number }>(
      this.control,
      { text: this.sql.leader, values: [at(params), this.policy.deadPodThresholdMs] },
      { idempotent: true },
    );
    const livePods = rows.filter((r) => r.pod_id !== null).map(toPodRow);
    return { leader: livePods[0] ?? null, livePods, checkedAt: rows[0]!.checked_ms };
  }

  async recoverySweep(params: RecoverySweepParams = {}): Promise<RecoverySummary> {
    const started = performance.now();
    const p = this.policy;
    const dryRun = params.dryRun === true;
    const { rows } = dryRun
      ? await runQuery<SweepRecord>(this.main, { text: this.sql.sweepPreview, values: [at(params), p.deadPodThresholdMs] }, { idempotent: true })
      : await runQuery<SweepRecord>(this.main, {
          text: this.sql.sweep,
          values: [at(params), params.podId ?? null, p.deadPodThresholdMs, p.baseDelayMs, p.maxDelayMs],
        });
    return toRecoverySummary(rows[0]!, dryRun, performance.now() - started);
  }

  async queueStats(params?: AtTime): Promise<QueueStats> {
    const { rows } = await runQuery<StatsRecord>(
      this.main,
      { text: this.sql.stats, values: [at(params), this.policy.deadPodThresholdMs] },
      { idempotent: true },
    );
    return toQueueStats(rows[0]!);
  }

  async queueAge(params?: AtTime): Promise<QueueAgeResult> {
    const { rows } = await runQuery<{ now_ms: number; by_priority: [number, number, number][]; past_deadline: number }>(
      this.main,
      { text: this.sql.queueAge, values: [at(params)] },
      { idempotent: true },
    );
    const row = rows[0]!;
    return {
      checkedAt: row.now_ms,
      byPriority: row.by_priority.map(([priority, due, oldestDueTs]) => ({ priority, due, oldestDueTs })),
      pastDeadline: row.past_deadline,
    };
  }

  async dlqList(params: DlqListParams): Promise<DlqListResult> {
    const limit = Math.max(0, Math.floor(params.limit));
    const offset = Math.max(0, Math.floor(params.offset));
    const { rows } = await runQuery<StepRecord & { total: number }>(this.main, { text: this.sql.dlq, values: [limit, offset] }, { idempotent: true });
    return { total: rows[0]?.total ?? 0, steps: rows.filter((r) => r.step_id !== null).map(toStepRow) };
  }

  async stepList(params: StepListParams): Promise<StepRow[]> {
    const prefix = params.stepIdPrefix === undefined || params.stepIdPrefix === '' ? null : params.stepIdPrefix;
    const values: unknown[] = [
      params.type ?? null,
      prefix,
      prefix === null ? null : `${prefix}\u{10ffff}`,
      params.idempotencyKey ?? null,
      Math.max(0, Math.floor(params.limit)),
      Math.max(0, Math.floor(params.offset)),
    ];
    const text = params.status === undefined ? this.sql.listNewest : params.status === 'pending' ? this.sql.listPending : this.sql.listByUpdate;
    if (params.status !== undefined && params.status !== 'pending') values.push(params.status);
    const { rows } = await runQuery<StepRecord>(this.main, { text, values }, { idempotent: true });
    return rows.map(toStepRow);
  }

  async queueActivity(params: QueueActivityParams): Promise<QueueActivity> {
    const { rows } = await runQuery<{ now_ms: number; buckets: [number, StepEventKind, number][] }>(
      this.main,
      { text: this.sql.activity, values: [at(params), params.windowMs, Math.max(1, Math.floor(params.bucketMs)), [...params.kinds]] },
      { idempotent: true },
    );
    const row = rows[0]!;
    return {
      now: row.now_ms,
      buckets: row.buckets.map(([bucketStart, kind, count]) => ({ bucketStart, kind, count })),
    };
  }

  /**
   * Prunes in chunks of `RETENTION_CHUNK` steps, each its own short transaction, until a chunk finds
   * fewer: the first prune after months of history may delete millions of rows, which as one
   * statement would outlast the statement timeout and hold its locks throughout. Every chunk is
   * consistent on its own (a step goes with all its events), so stopping between chunks is harmless.
   */
  async retentionPrune(params: RetentionPruneParams): Promise<RetentionPruneResult> {
    if (!(params.olderThanMs > 0)) return { steps: 0, events: 0, pods: 0 };
    let now = at(params);
    const chunkSize = Math.max(1, Math.floor(params.batchSize ?? RETENTION_CHUNK));
    return pruneInBatches(chunkSize, async () => {
      const { rows } = await runQuery<RetentionPruneResult & { now_ms: number }>(this.main, {
        text: this.sql.prune,
        values: [now, params.olderThanMs, chunkSize],
      });
      const chunk = rows[0]!;
      // Later chunks judge by the first chunk's clock, so the cutoff does not move while pruning.
      now = chunk.now_ms;
      return { steps: chunk.steps, events: chunk.events, pods: chunk.pods };
    });
  }

  watchWork(onWork: () => void, onListening?: (listening: boolean) => void): () => void {
    if (this.closing !== undefined) return () => undefined;
    return this.watcher.subscribe(onWork, onListening);
  }

  /** True while the LISTEN connection is up; tests wait for it before expecting a wake. */
  get listening(): boolean {
    return this.watcher.listening;
  }
}

/**
 * Opens a PostgreSQL store and checks that the database answers (a classified `StoreError`
 * otherwise, with nothing left open). Does not migrate: call `migrate()` (or `openStore`, which does).
 * Throws `ValidationError` for an invalid schema or table prefix before connecting.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const store = new PostgresStore(options);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
