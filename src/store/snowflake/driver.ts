/**
 * The Snowflake `Store` (DESIGN §3), designed for standard tables: every write is one autocommit
 * statement, so a pod that dies mid-call never leaves a transaction holding a table lock (Snowflake
 * keeps a detached transaction's locks for minutes), except the two gated writes (a flow-limited
 * claim, a keyed submit's promotion), whose short transactions gate.ts explains. Claims are one conditional UPDATE stamping a
 * fresh token, then a read by that token on the same session; fenced writes are batched UPDATEs;
 * decisions that PostgreSQL makes inside a statement are made in decide.ts and written back under
 * conditions on the values read. Each write owes its audit events: it stamps them into the rows'
 * outbox columns, and this store copies them to STEP_EVENTS with one INSERT for all it owes. A
 * write whose rows will be written again (a claim, a retry, a release, a replay) has its events
 * copied right after it; a completion's rows are final, so their `completed` events ride along
 * with the next copy: the next claim's, a stale write's (which must come after them), a read of
 * the trail through this store, the change watcher's next quiet poll, or the close or mark-down of
 * the pod. The recovery sweep copies what a dead writer still owed (queries.ts). So another pod may
 * see a live pod's `completed` events about a poll interval after the rows. Owns the mapping from
 * Store calls to statements; must not hold SQL text, nor open explicit transactions other than
 * through the gate (gate.ts).
 *
 * Statements, not milliseconds, are what a Snowflake queue pays for (each one keeps the warehouse
 * awake): a claim of N steps is 3 statements (its copy carries the previous completions' events),
 * a batch of completions 2 (+1 when one is stale), so a claim-and-complete cycle is 5 whatever N;
 * an idle pod's empty claim 2, a heartbeat 1. A flow-limited claim and a keyed submit each pay 3
 * more (BEGIN, the gate UPDATE, COMMIT: gate.ts), the only explicit transactions of this store.
 */
import { limitedTypes } from '../flow.js';
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, PodFencedError } from '../../errors.js';
import { WriteCoalescer } from '../coalesce.js';
import { serialiseProgress, serialiseResult } from '../json.js';
import type {
  Json,
  WorkflowGraph,
  WorkflowGraphParams,
  QueueActivity,
  QueueActivityParams,
  QueueAgeResult,
  StepEventKind,
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
  QueueStats,
  RecoverySummary,
  RecoverySweepParams,
  RetentionPruneParams,
  RetentionPruneResult,
  StepClaimParams,
  StepCompleteManyParams,
  StepCompleteParams,
  StepEvent,
  StepFailParams,
  StepReleaseParams,
  StepReplayParams,
  StepCancelledAmongParams,
  StepCancelParams,
  StepCancelResult,
  StepProgressParams,
  StepProgressResult,
  StepRow,
  StepSubmitBatchParams,
  StepSubmitBatchResult,
  StepSubmitParams,
  StepSubmitResult,
  Store,
  StoreCapabilities,
  StorePolicy,
} from '../store.js';
import { claimedStepOf, outcomeOf } from '../store.js';
import { outcomeKnown } from './classify.js';
import { SessionPool, type Answer, type RunOptions, type SessionSettings, type SnowflakeLogin, type Statement } from './connection.js';
import { cancelledAmong, cancelStep, progressStep } from './control.js';
import { decideFailure, decideReplay, rowAfter, type FailureAsk } from './decide.js';
import * as w from './queries.workflow.js';
import { cascadeChanges, readDescendants, revivalChanges } from './workflow.js';
import { walkWorkflow } from '../workflow.js';
import { runMigrations } from './migrations.js';
import { throughGate, typeSlots } from './gate.js';
import { sfNames, type SfNames } from './names.js';
import * as q from './queries.js';
import * as b from './queries.browse.js';
import * as m from './queries.maintenance.js';
import { byClaimOrder, toPodRow, toStepEvent, toStepRow } from './rows.js';
import { completeMany, staleEvent } from './complete.js';
import { submitSteps } from './submit.js';
import { recoverySweep } from './sweep.js';
import { ChangeWatcher, type WatchOptions } from './watch.js';

/** Options of `openSnowflakeStore`. */
export interface SnowflakeStoreOptions {
  readonly login: SnowflakeLogin;
  /** FLEET_Q_SNOWFLAKE_SCHEMA; default PUBLIC. Created by `migrate()` when missing. */
  readonly schema?: string;
  readonly tablePrefix?: string;
  readonly policy: StorePolicy;
  /** Sessions for steps, reads and sweeps; heartbeats and leadership have one more of their own. Default 4. */
  readonly poolSize?: number;
  readonly session?: Partial<SessionSettings>;
  /** `watchWork` polling: default every 1 s after a change, backing off to 30 s. */
  readonly watch?: Partial<WatchOptions>;
  /** Background failures (the watcher's polls), classified; never thrown. */
  readonly onError?: (err: unknown) => void;
}

/** Default session settings: a lock wait may not outlast the self-fencing budget (README "Snowflake"). */
export const DEFAULT_SESSION: SessionSettings = { lockTimeoutSeconds: 10, statementTimeoutSeconds: 60 };
export const DEFAULT_WATCH: WatchOptions = { intervalMs: 1_000, maxIntervalMs: 30_000 };

/** Rows per statement of a batched write. */
const BATCH = 500;

const at = (p: AtTime | undefined): number | null => p?.now ?? null;

export class SnowflakeStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'snowflake', pushNotifications: false };
  readonly policy: StorePolicy;
  readonly names: SfNames;
  private readonly main: SessionPool;
  private readonly control: SessionPool;
  /** Heartbeats only: a leader check or registration never delays proof of life. */
  private readonly beats: SessionPool;
  private readonly watcher: ChangeWatcher;
  private closing: Promise<void> | undefined;
  /**
   * Write tokens whose rows' events are not in STEP_EVENTS yet (see the file header), each with
   * whether its rows may be written again (their outboxes overwritten): those are copied first.
   */
  private readonly owed = new Map<string, boolean>();
  /** Bumped whenever a token becomes owed: the watcher flushes only after a quiet interval. */
  private owedGeneration = 0;
  private owedGenerationAtPoll = -1;
  private flushing: Promise<void> = Promise.resolve();
  private readonly completions = new WriteCoalescer<StepCompleteParams, FencedWriteResult<'completed'>>({
    writeBatch: (items) => this.completeMany(items),
    writeOne: async (item) => (await this.completeMany([item]))[0]!,
    key: (item) => item.stepId,
    maxBatch: BATCH,
  });

  constructor(options: SnowflakeStoreOptions) {
    this.policy = { ...options.policy };
    this.names = sfNames(options.schema, options.tablePrefix);
    const settings = { ...DEFAULT_SESSION, ...options.session };
    this.main = new SessionPool(options.login, settings, options.poolSize ?? 4);
    this.control = new SessionPool(options.login, settings, 1);
    this.beats = new SessionPool(options.login, settings, 1);
    this.watcher = new ChangeWatcher(
      async () => {
        // A pod gone quiet (its last completions' events owed) catches its trail up here.
        if (this.owed.size > 0 && this.owedGeneration === this.owedGenerationAtPoll) await this.flushOwedEvents();
        this.owedGenerationAtPoll = this.owedGeneration;
        return Number((await this.main.run(m.changeMarkerSql(this.names), { idempotent: true })).rows[0]?.['M'] ?? 0);
      },
      { ...DEFAULT_WATCH, ...options.watch },
      options.onError ?? (() => undefined),
    );
  }

  private run(statement: Statement, options?: RunOptions): Promise<Answer> {
    return this.main.run(statement, options);
  }

  async migrate(): Promise<MigrateResult> {
    return this.main.with((run) => runMigrations(run, this.names));
  }

  /** Checks that Snowflake answers; a classified `StoreError` otherwise. */
  async ping(): Promise<void> {
    await this.run(q.nowSql(), { idempotent: true });
  }

  /**
   * Copies every event this store owes in one statement; a token stays owed until that statement
   * succeeded (a failure throws, and the write that needed the copy first does not happen).
   */
  private flushOwedEvents(): Promise<void> {
    // One copy at a time: two concurrent INSERTs of one token could both pass its NOT EXISTS
    // (Snowflake does not serialize INSERTs); a later call finds what an earlier one copied gone.
    const next = this.flushing.catch(() => undefined).then(() => this.copyOwedEvents());
    this.flushing = next;
    return next;
  }

  private async copyOwedEvents(): Promise<void> {
    if (this.owed.size === 0) return;
    const tokens = [...this.owed.keys()];
    await this.run(q.eventsFromWriteSql(this.names, tokens), { idempotent: true });
    for (const token of tokens) this.owed.delete(token);
  }

  /** `rewritable`: the rows may be written again, so the copy must come before that. */
  private owe(token: string, rewritable: boolean): void {
    this.owed.set(token, rewritable);
    this.owedGeneration++;
  }

  /** Copies what is owed when an outbox would otherwise be overwritten unread (a claim whose copy failed). */
  private async flushRewritable(): Promise<void> {
    if ([...this.owed.values()].some((rewritable) => rewritable)) await this.flushOwedEvents();
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      this.watcher.close();
      // Best effort: what is still owed then is copied by the next recovery sweep.
      await this.flushOwedEvents().catch(() => undefined);
      await Promise.all([this.main.close(), this.control.close(), this.beats.close()]);
    })();
    return this.closing;
  }

  async stepSubmit(params: StepSubmitParams): Promise<StepSubmitResult> {
    const { now, ...step } = params;
    const [result] = await this.main.with((run) => submitSteps(run, this.names, [step], now, false));
    if (result!.outcome === 'submitted') this.watcher.poke();
    return result!;
  }

  async stepSubmitBatch(params: StepSubmitBatchParams): Promise<StepSubmitBatchResult> {
    const results = await this.main.with((run) => submitSteps(run, this.names, params.steps, params.now));
    if (results.some((r) => r.outcome === 'submitted')) this.watcher.poke();
    return { results };
  }

  /**
   * The claim UPDATE and its read-back run on one session (Snowflake guarantees read-your-writes
   * only within a session). When the UPDATE's answer is lost (network), it is not run again (a
   * second run would claim more steps under the same token); the read by token says what it did.
   */
  async stepClaim(params: StepClaimParams): Promise<ClaimedStepRow[]> {
    const limit = Math.max(0, Math.floor(params.limit));
    if (limit === 0 || params.types.length === 0) {
      await this.assertPodUp(params.podId, []);
      return [];
    }
    const token = randomUUID();
    this.watcher.noteClaim();
    const limits = limitedTypes(params);
    const claim = q.claimSql(this.names, { podId: params.podId, token, types: params.types, limit, now: at(params), limits });
    const rows = await this.main.with(async (run) => {
      let updated: number;
      try {
        // A limited claim's counts must hold until it commits: it passes the gate (gate.ts).
        updated =
          limits.length === 0
            ? (await run(claim)).updated
            : await throughGate(run, this.names, typeSlots(limits.map((l) => l.type)), token, async (tx) => (await tx(claim)).updated);
      } catch (err) {
        if (outcomeKnown(err)) throw err;
        updated = -1;
      }
      if (updated === 0) return [];
      return (await run(q.claimedRowsSql(this.names, token), { idempotent: true })).rows.map((r) => claimedStepOf(toStepRow(r)));
    });
    if (rows.length === 0) {
      await this.assertPodUp(params.podId, params.types);
      return [];
    }
    // The steps are ours whatever happens next: a failure to copy their events must not strand them
    // (claimed by a live pod that never runs them); they stay owed, copied before the rows' next write.
    this.owe(token, true);
    await this.flushOwedEvents().catch(() => undefined);
    return rows.sort(byClaimOrder);
  }

  /** Refuses a pod that is not up; learns when the next pending step of `types` falls due. */
  private async assertPodUp(podId: string, types: readonly string[]): Promise<void> {
    const { rows } = await this.run(q.podUpSql(this.names, podId, types), { idempotent: true });
    if (Number(rows[0]?.['N'] ?? 0) === 0) throw new PodFencedError(podId);
    const next = rows[0]?.['NEXT_MS'];
    if (types.length > 0) this.watcher.wakeIn(next === null || next === undefined ? null : Number(next));
  }

  /**
   * Single completions that arrive while a batch is being written join the next batch
   * (coalesce.ts), so a pod whose runtime completes steps one by one still pays one UPDATE per batch.
   */
  async stepComplete(params: StepCompleteParams): Promise<FencedWriteResult<'completed'>> {
    serialiseResult(params.result);
    return this.completions.submit(params);
  }

  async stepCompleteMany(params: StepCompleteManyParams): Promise<FencedWriteOutcome<'completed'>[]> {
    return (await this.completeMany(params.items)).map(outcomeOf);
  }

  /** See complete.ts: each completed item with its row (`stepComplete` answers with it). */
  private async completeMany(items: readonly StepCompleteParams[]): Promise<FencedWriteResult<'completed'>[]> {
    return completeMany((st, o) => this.run(st, o), this.names, items, {
      flushRewritable: () => this.flushRewritable(),
      flushAll: () => this.flushOwedEvents(),
      oweFinal: (token) => this.owe(token, false),
    });
  }

  async stepFail(params: StepFailParams): Promise<FencedWriteResult<'retried' | 'dead_lettered'>> {
    const ask = { podId: params.podId, error: params.error, retryable: params.retryable, reason: params.reason, release: false };
    return (await this.failOrRelease(params, ask, 'fail')) as FencedWriteResult<'retried' | 'dead_lettered'>;
  }

  async stepRelease(params: StepReleaseParams): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    const why = params.reason === undefined || params.reason === '' ? '' : ` (${params.reason})`;
    const error = `released after ${this.policy.maxReleases} earlier releases${why}; counted as a retry`;
    return this.failOrRelease(params, { podId: params.podId, error, retryable: true, reason: 'release', release: true }, 'release');
  }

  /** Read, decide, write under the read values; a row that moved meanwhile is read again. */
  private async failOrRelease(
    ref: StepFailParams | StepReleaseParams,
    ask: FailureAsk,
    write: string,
  ): Promise<FencedWriteResult<'released' | 'retried' | 'dead_lettered'>> {
    for (let round = 0; round < 5; round++) {
      const { rows } = await this.run(q.stepsByIdSql(this.names, [ref.stepId]), { idempotent: true });
      const row = rows[0] === undefined ? null : toStepRow(rows[0]);
      if (row === null || row.status !== 'claimed' || row.claimedBy !== ref.podId || row.attempt !== ref.attempt) {
        // The rejection comes after every event this store owes (the write it lost to may be one).
        await this.flushOwedEvents();
        await this.run(q.eventsInsertSql(this.names, [staleEvent(ref, write, row)]));
        return { applied: false, outcome: 'stale' };
      }
      const now = ref.now ?? Number(rows[0]!['NOW_MS']);
      const change = decideFailure(row, ask, this.policy, now, Math.random());
      const cascade =
        change.outcome === 'dead_lettered'
          ? cascadeChanges(await readDescendants((st, o) => this.run(st, o), this.names, [row.stepId]), ask.podId, now, () => ({
              stepId: row.stepId,
              status: row.status,
              attempt: row.attempt,
            }))
          : [];
      const token = randomUUID();
      await this.flushRewritable();
      const { updated } = await this.run(q.applyChangesSql(this.names, [change, ...cascade], token), { idempotent: true });
      if (updated === 0) continue;
      // At once: a retried or released step is not claimable while its event is owed.
      this.owe(token, true);
      await this.flushOwedEvents();
      if (change.outcome !== 'dead_lettered') this.watcher.poke();
      return { applied: true, outcome: change.outcome, step: rowAfter(row, change) };
    }
    throw new ConflictError(`step ${ref.stepId} kept changing while its failure was recorded; try again`);
  }

  async stepGet(params: { readonly stepId: string }): Promise<StepRow | null> {
    const { rows } = await this.run(q.stepGetSql(this.names, params.stepId), { idempotent: true });
    return rows[0] === undefined ? null : toStepRow(rows[0]);
  }

  async stepReplay(params: StepReplayParams): Promise<StepRow> {
    for (let round = 0; round < 5; round++) {
      const { rows } = await this.run(q.stepsByIdSql(this.names, [params.stepId]), { idempotent: true });
      if (rows[0] === undefined) throw new NotFoundError(`step ${params.stepId} not found`);
      const row = toStepRow(rows[0]);
      if (row.status !== 'failed') throw new ConflictError(`step ${params.stepId} is ${row.status}, not failed; only dead-lettered steps can be replayed`);
      const now = params.now ?? Number(rows[0]['NOW_MS']);
      const change = decideReplay(row, now);
      const revived = revivalChanges(await readDescendants((st, o) => this.run(st, o), this.names, [row.stepId]), row, now);
      const token = randomUUID();
      const { updated } = await this.run(q.applyChangesSql(this.names, [change, ...revived], token), { idempotent: true });
      if (updated === 0) continue;
      this.owe(token, true);
      await this.flushOwedEvents();
      this.watcher.poke();
      return rowAfter(row, change);
    }
    throw new ConflictError(`step ${params.stepId} kept changing while it was replayed; try again`);
  }

  async stepParentResults(params: { readonly stepId: string }): Promise<{ [parentStepId: string]: Json | null }> {
    const { rows } = await this.run(w.parentResultsSql(this.names, params.stepId), { idempotent: true });
    return Object.fromEntries(rows.map((r) => [String(r['STEP_ID']), (r['RESULT'] ?? null) as Json | null]));
  }

  async workflowGraph(params: WorkflowGraphParams): Promise<WorkflowGraph | null> {
    return walkWorkflow(params.stepId, params.limit, {
      edgesTouching: async (ids) =>
        (await this.run(w.edgesTouchingSql(this.names, ids), { idempotent: true })).rows.map((r) => ({
          stepId: String(r['STEP_ID']),
          parentStepId: String(r['PARENT_STEP_ID']),
        })),
      rows: async (ids) => (await this.run(w.stepsVisibleSql(this.names, ids), { idempotent: true })).rows.map(toStepRow),
    });
  }

  async stepCancel(params: StepCancelParams): Promise<StepCancelResult> {
    return cancelStep((st, o) => this.run(st, o), this.names, params.stepId, params.now);
  }

  async stepProgress(params: StepProgressParams): Promise<StepProgressResult> {
    const progress = serialiseProgress(params.progress);
    return progressStep((st, o) => this.run(st, o), this.names, params, progress);
  }

  async stepCancelledAmong(params: StepCancelledAmongParams): Promise<string[]> {
    return cancelledAmong((st, o) => this.run(st, o), this.names, params.podId, params.stepIds);
  }

  async eventList(params: EventListParams): Promise<StepEvent[]> {
    await this.flushOwedEvents();
    const { rows } = await this.run(q.eventListSql(this.names, params), { idempotent: true });
    return rows.map(toStepEvent);
  }

  /**
   * Retires `previousPodId` (conditionally) and then registers: two autocommit statements, since this
   * driver keeps no transaction open. Between them the old incarnation is already down, which only
   * makes its claims recoverable sooner; the new one is not up until the second commits.
   */
  async podRegister(params: PodRegisterParams): Promise<PodRow> {
    if (params.previousPodId !== undefined) {
      await this.control.run(b.podRetireSql(this.names, { previousPodId: params.previousPodId, name: params.name, podId: params.podId }), { idempotent: true });
    }
    const p = { podId: params.podId, name: params.name, meta: JSON.stringify(params.meta), now: at(params) };
    const revived = await this.control.run(m.podReviveSql(this.names, p), { idempotent: true });
    if (revived.updated === 0) await this.control.run(m.podInsertSql(this.names, p));
    const [row] = await this.pods({ now: at(params), liveOnly: false, podId: params.podId });
    return row!;
  }

  /**
   * One UPDATE. Without a test clock, `ts` is this host's clock when Snowflake acknowledged the
   * beat: reading the database clock back would double the statements heartbeats cost.
   */
  async podHeartbeat(params: PodHeartbeatParams): Promise<PodHeartbeatResult> {
    const meta = params.meta === undefined ? null : JSON.stringify(params.meta);
    const { updated } = await this.beats.run(m.podHeartbeatSql(this.names, { podId: params.podId, meta, now: at(params) }), { idempotent: true });
    return { ok: updated > 0, ts: params.now ?? Date.now() };
  }

  async podMarkDown(params: { readonly podId: string } & AtTime): Promise<void> {
    await this.flushOwedEvents().catch(() => undefined);
    await this.control.run(m.podMarkDownSql(this.names, params.podId), { idempotent: true });
  }

  private async pods(p: { now: number | null; liveOnly: boolean; podId?: string }): Promise<PodRow[]> {
    const { rows } = await this.control.run(m.podListSql(this.names, { ...p, thresholdMs: this.policy.deadPodThresholdMs }), { idempotent: true });
    return rows.filter((r) => r['POD_ID'] !== null && r['POD_ID'] !== undefined).map(toPodRow);
  }

  async podList(params?: AtTime): Promise<PodRow[]> {
    return this.pods({ now: at(params), liveOnly: false });
  }

  async leaderGet(params?: AtTime): Promise<LeaderInfo> {
    const { rows } = await this.control.run(m.podListSql(this.names, { now: at(params), liveOnly: true, thresholdMs: this.policy.deadPodThresholdMs }), {
      idempotent: true,
    });
    const livePods = rows.filter((r) => r['POD_ID'] !== null && r['POD_ID'] !== undefined).map(toPodRow);
    return { leader: livePods[0] ?? null, livePods, checkedAt: Number(rows[0]?.['CHECKED_MS'] ?? Date.now()) };
  }

  /** See sweep.ts. */
  async recoverySweep(params: RecoverySweepParams = {}): Promise<RecoverySummary> {
    const summary = await recoverySweep(
      { run: (st, o) => this.run(st, o), control: (st, o) => this.control.run(st, o), names: this.names, policy: this.policy },
      params,
    );
    if (summary.requeued.length > 0) this.watcher.poke();
    return summary;
  }

  async queueStats(params?: AtTime): Promise<QueueStats> {
    const [{ rows }, live] = await Promise.all([this.run(m.queueCountsSql(this.names), { idempotent: true }), this.pods({ now: at(params), liveOnly: true })]);
    const group = (k: string) => Object.fromEntries(rows.filter((r) => r['K'] === k).map((r) => [String(r['G']), Number(r['N'])]));
    const status = group('status');
    const claimed = group('claimed');
    return {
      pending: status['pending'] ?? 0,
      claimed: status['claimed'] ?? 0,
      completed: status['completed'] ?? 0,
      failed: status['failed'] ?? 0,
      cancelled: status['cancelled'] ?? 0,
      pendingByPriority: group('priority'),
      activeByType: group('type'),
      pods: live.map((p) => ({ podId: p.podId, claimed: claimed[p.podId] ?? 0, capacity: typeof p.meta.capacity === 'number' ? p.meta.capacity : 0 })),
      leader: live[0]?.podId ?? null,
    };
  }

  async dlqList(params: DlqListParams): Promise<DlqListResult> {
    const { rows } = await this.run(m.dlqListSql(this.names, params), { idempotent: true });
    if (rows.length > 0) return { total: Number(rows[0]!['TOTAL']), steps: rows.map(toStepRow) };
    const count = await this.run(m.dlqCountSql(this.names), { idempotent: true });
    return { total: Number(count.rows[0]?.['N'] ?? 0), steps: [] };
  }

  async stepList(params: StepListParams): Promise<StepRow[]> {
    const { rows } = await this.run(b.stepListSql(this.names, params), { idempotent: true });
    return rows.map(toStepRow);
  }

  async queueActivity(params: QueueActivityParams): Promise<QueueActivity> {
    // The window's first bucket start needs "now": the test clock, else one read of the database's.
    await this.flushOwedEvents();
    const now = params.now ?? Number((await this.run(q.nowSql(), { idempotent: true })).rows[0]!['NOW_MS']);
    const bucketMs = Math.max(1, Math.floor(params.bucketMs));
    const firstMs = (Math.floor((now - params.windowMs) / bucketMs) + 1) * bucketMs;
    const { rows } = await this.run(b.queueActivitySql(this.names, { now, firstMs, bucketMs, kinds: params.kinds }), { idempotent: true });
    const buckets = rows
      .filter((r) => r['KIND'] !== null && r['KIND'] !== undefined)
      .map((r) => ({ bucketStart: Number(r['BUCKET_MS']), kind: r['KIND'] as StepEventKind, count: Number(r['N']) }));
    return { now, buckets };
  }

  async queueAge(params?: AtTime): Promise<QueueAgeResult> {
    const { rows } = await this.run(b.queueAgeSql(this.names, { now: at(params) }), { idempotent: true });
    const checkedAt = Number(rows[0]?.['NOW_MS'] ?? Date.now());
    const byPriority = rows
      .filter((r) => r['PRIORITY'] !== null && r['PRIORITY'] !== undefined)
      .map((r) => ({ priority: Number(r['PRIORITY']), due: Number(r['DUE']), oldestDueTs: Number(r['OLDEST_MS']) }));
    return { checkedAt, byPriority, pastDeadline: Number(rows[0]?.['PAST_DEADLINE'] ?? 0) };
  }

  async retentionPrune(params: RetentionPruneParams): Promise<RetentionPruneResult> {
    if (!(params.olderThanMs > 0)) return { steps: 0, events: 0, pods: 0 };
    const now = params.now ?? Number((await this.run(q.nowSql(), { idempotent: true })).rows[0]!['NOW_MS']);
    const sql = m.pruneSql(this.names, { cutoffMs: now - params.olderThanMs });
    const events = (await this.run(sql.events, { idempotent: true })).updated;
    const steps = (await this.run(sql.steps, { idempotent: true })).updated;
    const pods = (await this.run(sql.pods, { idempotent: true })).updated;
    return { steps, events, pods };
  }

  watchWork(onWork: () => void, onListening?: (listening: boolean) => void): () => void {
    if (this.closing !== undefined) return () => undefined;
    return this.watcher.subscribe(onWork, onListening);
  }
}

/**
 * Opens a Snowflake store and checks that Snowflake answers (a classified `StoreError` otherwise,
 * with nothing left open). Does not migrate. Throws `ValidationError` for a bad schema or prefix.
 */
export async function openSnowflakeStore(options: SnowflakeStoreOptions): Promise<SnowflakeStore> {
  const store = new SnowflakeStore(options);
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
