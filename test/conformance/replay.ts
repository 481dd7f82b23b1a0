/**
 * Audit replay: rebuilds each step's status, claimed_by, attempt, retry_count and last_error from its
 * `step_events` alone (DESIGN §2: replaying the audit trail reproduces the row). It is also a checker:
 * an event that no legal transition explains (DESIGN §2 table, §3 fenced writes) throws `AuditReplayError`.
 * Must not read `step_tracker`; the comparison with the rows belongs to the cases.
 */
import type { Json, StepEvent, StepStatus } from '../../src/store/store.js';

/** What the audit trail says a step's row must hold. */
export interface ReplayedStep {
  readonly status: StepStatus;
  readonly claimedBy: string | null;
  readonly attempt: number;
  readonly retryCount: number;
  readonly lastError: string | null;
}

/** An event the transition table cannot explain. */
export class AuditReplayError extends Error {
  constructor(event: StepEvent, problem: string) {
    super(`event ${event.eventId} (${event.kind} of ${event.stepId}): ${problem}`);
    this.name = 'AuditReplayError';
  }
}

function detailString(event: StepEvent, key: string): string {
  const value: Json | undefined = event.detail[key];
  if (typeof value !== 'string') throw new AuditReplayError(event, `detail.${key} should be a string, got ${JSON.stringify(value)}`);
  return value;
}

function expectFrom(event: StepEvent, state: ReplayedStep, status: StepStatus): void {
  if (state.status !== status) throw new AuditReplayError(event, `illegal from status ${state.status} (needs ${status})`);
}

/** Fenced writes are applied only for the holder's own claim: `(claimed_by, attempt)` of the last `claimed`. */
function expectHolder(event: StepEvent, state: ReplayedStep): void {
  expectFrom(event, state, 'claimed');
  if (event.podId !== state.claimedBy || event.attempt !== state.attempt) {
    throw new AuditReplayError(event, `writer (${event.podId}, ${event.attempt}) is not the holder (${state.claimedBy}, ${state.attempt})`);
  }
}

/** After a failure the new retry_count must be the one the event records. */
function expectRetryCount(event: StepEvent, retryCount: number): void {
  if (event.detail['retry_count'] !== retryCount) {
    throw new AuditReplayError(event, `detail.retry_count ${JSON.stringify(event.detail['retry_count'])} should be ${retryCount}`);
  }
}

function apply(state: ReplayedStep | undefined, event: StepEvent): ReplayedStep | undefined {
  if (event.kind === 'submitted') {
    if (state !== undefined) throw new AuditReplayError(event, 'a step is submitted once');
    if (event.attempt !== 0) throw new AuditReplayError(event, 'a new step has attempt 0');
    return { status: 'pending', claimedBy: null, attempt: 0, retryCount: 0, lastError: null };
  }
  if (event.kind === 'stale_write_rejected') {
    // A rejected write changes nothing, and must really have been stale (the fence did not match).
    if (state !== undefined && state.status === 'claimed' && state.claimedBy === event.podId && state.attempt === event.attempt) {
      throw new AuditReplayError(event, 'rejected a write that matched the current claim');
    }
    return state;
  }
  if (state === undefined) throw new AuditReplayError(event, 'no submitted event before it');
  if (event.kind !== 'claimed' && event.attempt !== state.attempt) {
    throw new AuditReplayError(event, `attempt ${event.attempt} should stay ${state.attempt}`);
  }
  switch (event.kind) {
    case 'claimed':
      expectFrom(event, state, 'pending');
      if (event.podId === null) throw new AuditReplayError(event, 'a claim names its claimer');
      if (event.attempt !== state.attempt + 1) throw new AuditReplayError(event, `attempt should be ${state.attempt + 1}`);
      return { ...state, status: 'claimed', claimedBy: event.podId, attempt: event.attempt };
    case 'completed':
      expectHolder(event, state);
      return { ...state, status: 'completed' };
    case 'retried': {
      expectHolder(event, state);
      const retryCount = state.retryCount + 1;
      expectRetryCount(event, retryCount);
      return { ...state, status: 'pending', claimedBy: null, retryCount, lastError: detailString(event, 'error') };
    }
    case 'recovered': {
      expectFrom(event, state, 'claimed');
      const retryCount = state.retryCount + 1;
      expectRetryCount(event, retryCount);
      return { ...state, status: 'pending', claimedBy: null, retryCount, lastError: detailString(event, 'error') };
    }
    case 'dead_lettered':
      // The sweep dead-letters for a dead holder; every other dead-letter is the holder's own fenced write.
      if (event.detail['reason'] === 'pod_dead') expectFrom(event, state, 'claimed');
      else expectHolder(event, state);
      expectRetryCount(event, state.retryCount);
      return { ...state, status: 'failed', lastError: detailString(event, 'error') };
    case 'released':
      expectHolder(event, state);
      return { ...state, status: 'pending', claimedBy: null };
    case 'replayed':
      expectFrom(event, state, 'failed');
      if (event.detail['old_retry_count'] !== state.retryCount) {
        throw new AuditReplayError(event, `detail.old_retry_count should be ${state.retryCount}`);
      }
      return { ...state, status: 'pending', claimedBy: null, retryCount: 0 };
    case 'cancelled':
      // An operator's cancel: from pending or claimed; the holder (kept on the row) is named in detail.
      if (state.status !== 'pending' && state.status !== 'claimed') throw new AuditReplayError(event, `cancelled from ${state.status}`);
      if (event.detail['previous_status'] !== state.status) throw new AuditReplayError(event, `detail.previous_status should be ${state.status}`);
      return { ...state, status: 'cancelled' };
  }
}

/**
 * Replays events (any mix of steps, in `event_id` order) into the state each step's row must hold.
 * Steps known only from `stale_write_rejected` events (their row is gone) are absent from the result.
 */
export function replayStepEvents(events: readonly StepEvent[]): Map<string, ReplayedStep> {
  const states = new Map<string, ReplayedStep>();
  let lastEventId = -Infinity;
  for (const event of events) {
    if (event.eventId <= lastEventId) throw new AuditReplayError(event, `event ids must increase (after ${lastEventId})`);
    lastEventId = event.eventId;
    const next = apply(states.get(event.stepId), event);
    if (next !== undefined) states.set(event.stepId, next);
  }
  return states;
}
