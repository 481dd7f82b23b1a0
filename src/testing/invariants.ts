/**
 * The audit-trail invariants of the reliability notes (§3), checked on `step_events` alone, with
 * DESIGN §2's names: legal transitions (I6), fenced writes (I3), one claim per attempt (I4), one
 * terminal event per episode (I5; an operator's `cancelled` is one), retry accounting (I7), dead-letter only when earned (I8),
 * execution bound (I9), backoff (I10), no false death (I11), and the replay of the trail that must
 * reproduce each row (I13). An episode is the life of a step since its submit or its last `replayed`.
 * Legality (I6) is judged by the `lifecycle` machine (machines/lifecycle.machine.ts), the oracle every
 * lifecycle must keep; the walk here adds what the machine leaves to the store (time, backoff, pods)
 * and cross-checks the row the machine ends in. Pure functions over data: no store, no model state
 * beyond what the caller passes in. Part of `fleet-q/testing`: users compose their own properties with it.
 */
import { applyLifecycleEvent, lifecycleEventFromRecord, lifecycleStateOf, startLifecycle } from '../../machines/lifecycle.oracle.js';
import type { Json, StepEvent, StepStatus, StorePolicy } from '../store/store.js';

/** One register / heartbeat / mark-down of a pod, as the no-false-death check (I11) reads them. */
export interface PodLogEntry {
  readonly podId: string;
  readonly ts: number;
  /** `sweep_down` is the sweep's own verdict, so the no-false-death check must not trust it. */
  readonly kind: 'up' | 'heartbeat' | 'down' | 'sweep_down';
  /** The largest event id that existed when the entry was made: events after it may depend on it. */
  readonly seenEventId: number;
}

/** The fields of a row that replaying its events must reproduce (I13). */
export interface ReplayedRow {
  status: StepStatus;
  claimedBy: string | null;
  attempt: number;
  retryCount: number;
  lastError: string | null;
}

/** What `checkTrail` needs besides the events. */
export interface TrailContext {
  readonly policy: StorePolicy;
  /** `max_retries` of each step, from its row. */
  readonly maxRetries: (stepId: string) => number;
  /** The real `run_after` right after a `retried`/`recovered` event, when known. */
  readonly runAfterOf: (eventId: number) => number | undefined;
  /** Register / heartbeat / mark-down history of every pod (I11). */
  readonly podLog: readonly PodLogEntry[];
  /** After the settle phase: every episode must have ended. */
  readonly final: boolean;
}

const DEAD_LETTER_REASONS: readonly Json[] = ['error', 'timeout', 'non_retryable', 'pod_dead', 'release', 'parent_failed'];

interface Walk extends ReplayedRow {
  exists: boolean;
  runAfter: number;
  episodeClaims: number;
  episodeReleases: number;
  episodeTerminals: number;
}

/** Was `podId` live at `event` according to the pod log (entries written before the event)? */
function wasLive(podLog: readonly PodLogEntry[], podId: string, event: StepEvent, thresholdMs: number): boolean {
  let lastBeat: number | null = null;
  let up = false;
  for (const entry of podLog) {
    if (entry.podId !== podId || entry.seenEventId >= event.eventId || entry.kind === 'sweep_down') continue;
    if (entry.kind === 'down') up = false;
    else {
      up = true;
      lastBeat = entry.ts;
    }
  }
  return up && lastBeat !== null && event.ts - lastBeat < thresholdMs;
}

function num(value: Json | undefined): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** Walks one step's events; pushes violations; returns the replayed row (null if never submitted). */
function walkStep(stepId: string, events: readonly StepEvent[], ctx: TrailContext, out: string[]): ReplayedRow | null {
  const w: Walk = {
    exists: false,
    status: 'pending',
    claimedBy: null,
    attempt: 0,
    retryCount: 0,
    lastError: null,
    runAfter: 0,
    episodeClaims: 0,
    episodeReleases: 0,
    episodeTerminals: 0,
  };
  const maxRetries = ctx.maxRetries(stepId);
  let lifecycle = startLifecycle({ maxReleases: ctx.policy.maxReleases });
  for (const e of events) {
    const bad = (msg: string) => out.push(`${stepId} event #${e.eventId} ${e.kind}: ${msg}`);
    const next = applyLifecycleEvent(lifecycle, lifecycleEventFromRecord(e));
    if (!next.legal) bad(`I6 the lifecycle machine refuses it in state ${lifecycleStateOf(lifecycle)}`);
    lifecycle = next.snapshot;
    const sweepMade = e.kind === 'recovered' || (e.kind === 'dead_lettered' && e.detail.reason === 'pod_dead');
    // A workflow cascade fails a pending step for its ancestor: no claim of its own to fence.
    const cascadeMade = e.kind === 'dead_lettered' && e.detail.reason === 'parent_failed';
    const writerMade = ['completed', 'retried', 'released', 'dead_lettered'].includes(e.kind) && !sweepMade && !cascadeMade;
    if (writerMade && (e.podId !== w.claimedBy || e.attempt !== w.attempt)) {
      bad(`I3 accepted write by ${e.podId}@${e.attempt} but the claim is ${w.claimedBy}@${w.attempt}`);
    }
    if (sweepMade && e.attempt !== w.attempt) bad(`I3 sweep write for attempt ${e.attempt}, claim is ${w.attempt}`);
    if (sweepMade && w.claimedBy !== null && wasLive(ctx.podLog, w.claimedBy, e, ctx.policy.deadPodThresholdMs)) {
      bad(`I11 recovered a claim of ${w.claimedBy}, whose heartbeat was younger than ${ctx.policy.deadPodThresholdMs} ms`);
    }
    switch (e.kind) {
      case 'submitted':
        w.exists = true;
        w.runAfter = e.ts;
        if (e.podId !== null || e.attempt !== 0) bad('submitted must have no pod and attempt 0');
        break;
      case 'claimed':
        if (e.attempt !== w.attempt + 1) bad(`I4 claim attempt ${e.attempt} after attempt ${w.attempt}`);
        if (e.ts < w.runAfter) bad(`I10 claimed at ${e.ts}, before run_after ${w.runAfter}`);
        if (e.podId === null) bad('claimed without a pod');
        w.episodeClaims += 1;
        if (w.episodeClaims > maxRetries + 1 + w.episodeReleases) {
          bad(`I9 ${w.episodeClaims} claims in one episode with max_retries ${maxRetries} and ${w.episodeReleases} releases`);
        }
        Object.assign(w, { status: 'claimed', claimedBy: e.podId, attempt: e.attempt });
        break;
      case 'completed':
        w.episodeTerminals += 1;
        w.status = 'completed';
        break;
      case 'retried':
      case 'recovered': {
        if (w.retryCount >= maxRetries) bad(`I8 ${e.kind} with retry_count ${w.retryCount} already at max_retries ${maxRetries}`);
        w.retryCount += 1;
        if (e.detail.retry_count !== w.retryCount) bad(`I7 detail.retry_count ${String(e.detail.retry_count)}, expected ${w.retryCount}`);
        const runAfter = ctx.runAfterOf(e.eventId) ?? num(e.detail.run_after);
        const detailRunAfter = num(e.detail.run_after);
        if (detailRunAfter !== undefined && runAfter !== undefined && detailRunAfter !== runAfter) {
          bad(`detail.run_after ${detailRunAfter} differs from the row's run_after ${runAfter}`);
        }
        const full = Math.min(ctx.policy.baseDelayMs * 2 ** (w.retryCount - 1), ctx.policy.maxDelayMs);
        if (runAfter === undefined) bad('I10 run_after of the requeue is unknown');
        else if (runAfter - e.ts < Math.floor(full / 2) || runAfter - e.ts > Math.ceil(full)) {
          bad(`I10 backoff ${runAfter - e.ts} ms outside [${full / 2}, ${full}] for retry ${w.retryCount}`);
        } else w.runAfter = runAfter;
        Object.assign(w, { status: 'pending', claimedBy: null, lastError: e.detail.error ?? null });
        break;
      }
      case 'dead_lettered':
        if (!DEAD_LETTER_REASONS.includes(e.detail.reason ?? null)) bad(`I8 unknown reason ${String(e.detail.reason)}`);
        if (e.detail.reason !== 'non_retryable' && !cascadeMade && w.retryCount !== maxRetries) {
          bad(`I8 dead-lettered (${String(e.detail.reason)}) with retry_count ${w.retryCount} < max_retries ${maxRetries}`);
        }
        if (e.detail.retry_count !== w.retryCount) bad(`I7 detail.retry_count ${String(e.detail.retry_count)}, expected ${w.retryCount}`);
        w.episodeTerminals += 1;
        Object.assign(w, { status: 'failed', lastError: e.detail.error ?? null });
        break;
      case 'released':
        w.episodeReleases += 1;
        Object.assign(w, { status: 'pending', claimedBy: null, runAfter: e.ts });
        break;
      case 'replayed':
        if (e.detail.old_retry_count !== w.retryCount) bad(`detail.old_retry_count ${String(e.detail.old_retry_count)}, expected ${w.retryCount}`);
        if (e.podId !== null) bad('replayed must have no pod');
        Object.assign(w, { status: 'pending', claimedBy: null, retryCount: 0, runAfter: e.ts });
        Object.assign(w, { episodeClaims: 0, episodeReleases: 0, episodeTerminals: 0 });
        break;
      case 'cancelled':
        // An operator's cancel ends the episode for good (terminal, never replayed); the holder is kept.
        if (e.podId !== null) bad('cancelled must have no pod');
        if (e.detail.previous_status !== w.status) bad(`detail.previous_status ${String(e.detail.previous_status)}, expected ${w.status}`);
        w.episodeTerminals += 1;
        w.status = 'cancelled';
        break;
      case 'stale_write_rejected': {
        const seen = { status: e.detail.status, claimed_by: e.detail.claimed_by, attempt: e.detail.attempt };
        const row = w.exists ? { status: w.status, claimed_by: w.claimedBy, attempt: w.attempt } : { status: null, claimed_by: null, attempt: null };
        if (JSON.stringify(seen) !== JSON.stringify(row)) bad(`I17 detail ${JSON.stringify(seen)} is not the row ${JSON.stringify(row)}`);
        if (w.exists && w.status === 'claimed' && e.podId === w.claimedBy && e.attempt === w.attempt) {
          bad('I17 rejected a write that held the claim');
        }
        break;
      }
    }
    if (w.episodeTerminals > 1) bad(`I5 ${w.episodeTerminals} terminal events in one episode`);
  }
  if (ctx.final && w.exists && w.episodeTerminals !== 1) out.push(`${stepId}: I5/I1 episode ended with ${w.episodeTerminals} terminal events`);
  const { context } = lifecycle;
  const oracle = {
    status: lifecycleStateOf(lifecycle),
    claimedBy: context.claimedBy,
    attempt: context.attempt,
    retryCount: context.retryCount,
    lastError: context.lastError,
  };
  const walked = { status: w.exists ? w.status : 'unsubmitted', claimedBy: w.claimedBy, attempt: w.attempt, retryCount: w.retryCount, lastError: w.lastError };
  if (JSON.stringify(oracle) !== JSON.stringify(walked)) {
    out.push(`${stepId}: I13 the lifecycle machine ends in ${JSON.stringify(oracle)}, the trail walk in ${JSON.stringify(walked)}`);
  }
  return w.exists ? { status: w.status, claimedBy: w.claimedBy, attempt: w.attempt, retryCount: w.retryCount, lastError: w.lastError } : null;
}

/** Checks every step's trail; returns the violations and each step's replayed row. */
export function checkTrail(events: readonly StepEvent[], ctx: TrailContext): { violations: string[]; replayed: Map<string, ReplayedRow> } {
  const byStep = new Map<string, StepEvent[]>();
  let previousId = 0;
  const violations: string[] = [];
  for (const e of events) {
    if (e.eventId <= previousId) violations.push(`event ids not increasing: #${e.eventId} after #${previousId}`);
    previousId = e.eventId;
    byStep.set(e.stepId, [...(byStep.get(e.stepId) ?? []), e]);
  }
  const replayed = new Map<string, ReplayedRow>();
  for (const [stepId, stepEvents] of byStep) {
    const row = walkStep(stepId, stepEvents, ctx, violations);
    if (row !== null) replayed.set(stepId, row);
    else violations.push(`${stepId}: events without a submitted event`);
  }
  return { violations, replayed };
}
