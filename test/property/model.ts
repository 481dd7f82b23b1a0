/**
 * The reference model of the store: the one fake store of the project, used only to predict what the
 * real store must answer. It keeps steps, pods and a clock in memory and applies the decided rules
 * (DESIGN §2–3) in plain TypeScript, deliberately without SQL, so a bug in the driver and in the model
 * are unlikely to agree. It must not call a store, read the host clock or use randomness: the two
 * things it cannot know (backoff jitter, the wording of driver-made errors) are left as holes that the
 * caller checks against the real row and then fills.
 */
import { canonicalJson } from '../../src/store/json.js';
import type { Json, PodStatus, StepEventKind, StepStatus, StorePolicy } from '../../src/store/store.js';
import type { PodLogEntry } from '../../src/testing/invariants.js';

/** A step row as the model believes it to be. */
export interface ModelStep {
  readonly stepId: string;
  readonly type: string;
  readonly args: Json;
  readonly priority: number;
  readonly maxRetries: number;
  readonly idempotencyKey: string | null;
  readonly createdTs: number;
  status: StepStatus;
  claimedBy: string | null;
  attempt: number;
  retryCount: number;
  releaseCount: number;
  runAfter: number;
  lastError: string | null;
  result: Json | null;
  /** The last claim ever made, kept after it ends so that zombies can write with it. */
  lastClaim: { readonly podId: string; readonly attempt: number } | null;
}

export interface ModelPod {
  readonly podId: string;
  readonly name: string;
  birthTs: number;
  lastHeartbeatTs: number;
  status: PodStatus;
}

/** What one command must have written to `step_events` (detail is matched as a subset). */
export interface ExpectedEvent {
  readonly stepId: string;
  readonly kind: StepEventKind;
  readonly podId: string | null;
  readonly attempt: number;
  readonly detail: { readonly [key: string]: Json };
}

/** A field the model cannot predict exactly; the caller checks the real value and fills it in. */
export interface Hole {
  readonly stepId: string;
  /** Backoff: the real `run_after` must lie in `[min, max]`. */
  readonly runAfter?: { readonly min: number; readonly max: number };
  /** Driver-worded error: the real `last_error` must contain this text. */
  readonly lastErrorIncludes?: string;
}

export interface Prediction<O> {
  readonly outcome: O;
  readonly events: ExpectedEvent[];
  readonly holes: Hole[];
}

/** One entry of the pod liveness log, for the no-false-death check (I11). */
export type { PodLogEntry };

export interface SubmitSpec {
  readonly type: string;
  readonly args: Json;
  readonly priority: number;
  readonly maxRetries: number;
  readonly idempotencyKey: string | null;
}

export interface ClaimRefSpec {
  readonly stepId: string;
  readonly podId: string;
  readonly attempt: number;
}

type Failure = { readonly error: string | null; readonly retryable: boolean; readonly reason: 'error' | 'timeout' | 'release' };

const nothing = <O>(outcome: O): Prediction<O> => ({ outcome, events: [], holes: [] });

/** Predicts and tracks the store's state; every method mirrors one Store method at `clock`. */
export class QueueModel {
  clock: number;
  readonly steps = new Map<string, ModelStep>();
  readonly pods = new Map<string, ModelPod>();
  readonly podLog: PodLogEntry[] = [];
  /** Largest event id seen so far. */
  lastEventId = 0;
  /** Stale fenced writes the model predicted (each must have produced one `stale_write_rejected`). */
  staleWrites = 0;
  /** Real `run_after` of each `retried`/`recovered` event, by event id, for the backoff check (I10). */
  readonly runAfterByEvent = new Map<number, number>();

  constructor(
    readonly policy: StorePolicy,
    startTs: number,
  ) {
    this.clock = startTs;
  }

  /** `min(base·2^(n−1), max)·[0.5, 1]` after `clock`, for the n-th retry; rounding either way is allowed. */
  backoffBounds(n: number): { min: number; max: number } {
    const full = Math.min(this.policy.baseDelayMs * 2 ** (n - 1), this.policy.maxDelayMs);
    return { min: this.clock + Math.floor(full / 2), max: this.clock + Math.ceil(full) };
  }

  isLive(podId: string | null): boolean {
    const pod = podId === null ? undefined : this.pods.get(podId);
    return pod !== undefined && pod.status === 'up' && this.clock - pod.lastHeartbeatTs < this.policy.deadPodThresholdMs;
  }

  /** Claim order of DESIGN §3: `priority DESC, created_ts, step_id`. */
  claimOrder(): ModelStep[] {
    return [...this.steps.values()].sort(
      (a, b) => b.priority - a.priority || a.createdTs - b.createdTs || (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0),
    );
  }

  /** Whether a submit is new, a duplicate (with the existing id) or a conflict; writes nothing. */
  classifySubmit(spec: SubmitSpec): { kind: 'new' } | { kind: 'duplicate'; stepId: string } | { kind: 'conflict' } {
    if (spec.idempotencyKey === null) return { kind: 'new' };
    const existing = [...this.steps.values()].find((s) => s.type === spec.type && s.idempotencyKey === spec.idempotencyKey);
    if (existing === undefined) return { kind: 'new' };
    return canonicalJson(existing.args) === canonicalJson(spec.args) ? { kind: 'duplicate', stepId: existing.stepId } : { kind: 'conflict' };
  }

  /** Records a new step under the id the store chose. */
  submit(spec: SubmitSpec, stepId: string): Prediction<'submitted'> {
    this.steps.set(stepId, {
      ...spec,
      stepId,
      createdTs: this.clock,
      status: 'pending',
      claimedBy: null,
      attempt: 0,
      retryCount: 0,
      releaseCount: 0,
      runAfter: this.clock,
      lastError: null,
      result: null,
      lastClaim: null,
    });
    const detail = { priority: spec.priority, max_retries: spec.maxRetries };
    return { outcome: 'submitted', events: [{ stepId, kind: 'submitted', podId: null, attempt: 0, detail }], holes: [] };
  }

  /** `fenced` when the claimer's row is missing or down; else the claimed ids in claim order. */
  claim(podId: string, types: readonly string[], limit: number): Prediction<'fenced' | string[]> {
    if (this.pods.get(podId)?.status !== 'up') return nothing('fenced');
    const chosen = this.claimOrder()
      .filter((s) => s.status === 'pending' && s.runAfter <= this.clock && types.includes(s.type))
      .slice(0, limit);
    const events: ExpectedEvent[] = [];
    for (const step of chosen) {
      step.status = 'claimed';
      step.claimedBy = podId;
      step.attempt += 1;
      step.lastClaim = { podId, attempt: step.attempt };
      events.push({ stepId: step.stepId, kind: 'claimed', podId, attempt: step.attempt, detail: {} });
    }
    return { outcome: chosen.map((s) => s.stepId), events, holes: [] };
  }

  complete(ref: ClaimRefSpec, result: Json): Prediction<'completed' | 'stale'> {
    const step = this.fenced(ref);
    if (step === null) return this.stale(ref, 'complete');
    step.status = 'completed';
    step.result = result;
    return { outcome: 'completed', events: [this.event(step, 'completed', ref.podId, {})], holes: [] };
  }

  fail(ref: ClaimRefSpec, error: string, retryable: boolean, reason: 'error' | 'timeout'): Prediction<'retried' | 'dead_lettered' | 'stale'> {
    const step = this.fenced(ref);
    if (step === null) return this.stale(ref, 'fail');
    return this.failAttempt(step, ref.podId, { error, retryable, reason });
  }

  release(ref: ClaimRefSpec): Prediction<'released' | 'retried' | 'dead_lettered' | 'stale'> {
    const step = this.fenced(ref);
    if (step === null) return this.stale(ref, 'release');
    if (step.releaseCount >= this.policy.maxReleases) {
      return this.failAttempt(step, ref.podId, { error: null, retryable: true, reason: 'release' });
    }
    step.releaseCount += 1;
    Object.assign(step, { status: 'pending', claimedBy: null, runAfter: this.clock });
    return { outcome: 'released', events: [this.event(step, 'released', ref.podId, { release_count: step.releaseCount })], holes: [] };
  }

  /** Operator cancel: pending or claimed → cancelled, holder and attempt kept (their writes go stale). */
  cancel(stepId: string): Prediction<'cancelled' | 'not_found' | 'conflict'> {
    const step = this.steps.get(stepId);
    if (step === undefined) return nothing('not_found');
    if (step.status !== 'pending' && step.status !== 'claimed') return nothing('conflict');
    const detail = { previous_status: step.status, claimed_by: step.status === 'claimed' ? step.claimedBy : null };
    Object.assign(step, { status: 'cancelled' });
    return { outcome: 'cancelled', events: [this.event(step, 'cancelled', null, detail)], holes: [] };
  }

  replay(stepId: string): Prediction<'replayed' | 'not_found' | 'conflict'> {
    const step = this.steps.get(stepId);
    if (step === undefined) return nothing('not_found');
    if (step.status !== 'failed') return nothing('conflict');
    const old = step.retryCount;
    Object.assign(step, { status: 'pending', claimedBy: null, retryCount: 0, runAfter: this.clock });
    return { outcome: 'replayed', events: [this.event(step, 'replayed', null, { old_retry_count: old })], holes: [] };
  }

  register(podId: string, name: string): void {
    this.pods.set(podId, { podId, name, birthTs: this.clock, lastHeartbeatTs: this.clock, status: 'up' });
    this.log(podId, 'up');
  }

  /** `ok` only while the row is up; otherwise nothing changes. */
  heartbeat(podId: string): boolean {
    const pod = this.pods.get(podId);
    if (pod?.status !== 'up') return false;
    pod.lastHeartbeatTs = this.clock;
    this.log(podId, 'heartbeat');
    return true;
  }

  markDown(podId: string): void {
    const pod = this.pods.get(podId);
    if (pod === undefined) return;
    pod.status = 'down';
    this.log(podId, 'down');
  }

  /** Orphans (claimed by a pod that is not live) are recovered or dead-lettered; stale `up` pods go down. */
  sweep(sweeper: string | null, dryRun: boolean): Prediction<{ deadPods: string[]; requeued: string[]; deadLettered: string[] }> {
    const deadPods = [...this.pods.values()].filter((p) => p.status === 'up' && !this.isLive(p.podId)).map((p) => p.podId);
    const orphans = [...this.steps.values()].filter((s) => s.status === 'claimed' && !this.isLive(s.claimedBy));
    const requeued = orphans.filter((s) => s.retryCount < s.maxRetries).map((s) => s.stepId);
    const deadLettered = orphans.filter((s) => s.retryCount >= s.maxRetries).map((s) => s.stepId);
    const outcome = { deadPods: deadPods.sort(), requeued: requeued.sort(), deadLettered: deadLettered.sort() };
    if (dryRun) return nothing(outcome);
    const events: ExpectedEvent[] = [];
    const holes: Hole[] = [];
    for (const step of orphans) {
      const holder = step.claimedBy!;
      if (step.retryCount < step.maxRetries) {
        step.retryCount += 1;
        Object.assign(step, { status: 'pending', claimedBy: null, lastError: null });
        const detail = { reason: 'pod_dead', retry_count: step.retryCount };
        events.push(this.event(step, 'recovered', sweeper, detail));
        holes.push({ stepId: step.stepId, runAfter: this.backoffBounds(step.retryCount), lastErrorIncludes: holder });
      } else {
        step.status = 'failed';
        events.push(this.event(step, 'dead_lettered', sweeper, { reason: 'pod_dead', retry_count: step.retryCount }));
        holes.push({ stepId: step.stepId, lastErrorIncludes: holder });
      }
    }
    for (const podId of deadPods) {
      this.pods.get(podId)!.status = 'down';
      this.log(podId, 'sweep_down');
    }
    return { outcome, events, holes };
  }

  /** Fills a hole with the real value, after the caller has checked it. */
  fill(stepId: string, runAfter: number | undefined, lastError: string | null | undefined): void {
    const step = this.steps.get(stepId)!;
    if (runAfter !== undefined) step.runAfter = runAfter;
    if (lastError !== undefined) step.lastError = lastError;
  }

  private fenced(ref: ClaimRefSpec): ModelStep | null {
    const step = this.steps.get(ref.stepId);
    const holds = step !== undefined && step.status === 'claimed' && step.claimedBy === ref.podId && step.attempt === ref.attempt;
    return holds ? step : null;
  }

  private stale(ref: ClaimRefSpec, write: 'complete' | 'fail' | 'release'): Prediction<'stale'> {
    const step = this.steps.get(ref.stepId);
    this.staleWrites += 1;
    const detail = { write, status: step?.status ?? null, claimed_by: step?.claimedBy ?? null, attempt: step?.attempt ?? null };
    const event: ExpectedEvent = { stepId: ref.stepId, kind: 'stale_write_rejected', podId: ref.podId, attempt: ref.attempt, detail };
    return { outcome: 'stale', events: [event], holes: [] };
  }

  /** Retry with backoff while retries are left and the error is retryable; else dead-letter, keeping the holder. */
  private failAttempt(step: ModelStep, writer: string, failure: Failure): Prediction<'retried' | 'dead_lettered'> {
    const errorDetail: { [key: string]: Json } = failure.error === null ? {} : { error: failure.error };
    const hole = failure.error === null ? { lastErrorIncludes: '' } : {};
    if (failure.retryable && step.retryCount < step.maxRetries) {
      step.retryCount += 1;
      Object.assign(step, { status: 'pending', claimedBy: null, lastError: failure.error });
      const detail = { reason: failure.reason, retry_count: step.retryCount, ...errorDetail };
      const holes = [{ stepId: step.stepId, runAfter: this.backoffBounds(step.retryCount), ...hole }];
      return { outcome: 'retried', events: [this.event(step, 'retried', writer, detail)], holes };
    }
    Object.assign(step, { status: 'failed', lastError: failure.error });
    const reason = failure.retryable ? failure.reason : 'non_retryable';
    const detail = { reason, retry_count: step.retryCount, ...errorDetail };
    const holes = failure.error === null ? [{ stepId: step.stepId, ...hole }] : [];
    return { outcome: 'dead_lettered', events: [this.event(step, 'dead_lettered', writer, detail)], holes };
  }

  private event(step: ModelStep, kind: StepEventKind, podId: string | null, detail: { [key: string]: Json }): ExpectedEvent {
    return { stepId: step.stepId, kind, podId, attempt: step.attempt, detail };
  }

  private log(podId: string, kind: PodLogEntry['kind']): void {
    this.podLog.push({ podId, ts: this.clock, kind, seenEventId: this.lastEventId });
  }
}
