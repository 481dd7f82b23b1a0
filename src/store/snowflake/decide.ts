/**
 * The decisions the PostgreSQL and SQLite stores make inside their statements, made here in plain
 * code for the Snowflake store, which reads a row, decides, and writes the decided values back under
 * conditions on what it read (queries.ts `applyChangesSql`). Pure: no I/O, no clock, no randomness
 * of its own (the jitter comes in as a parameter, so tests can pin it).
 */
import type { Json, StepRow, StorePolicy } from '../store.js';
import type { RowChange } from './queries.js';

/** `ceil(min(base × 2^(n−1), max) × (0.5 + jitter/2))` for the n-th retry, `retryCountBefore` = n − 1, jitter in [0, 1]. */
export function backoffMs(policy: StorePolicy, retryCountBefore: number, jitter: number): number {
  return Math.ceil(Math.min(policy.baseDelayMs * 2 ** retryCountBefore, policy.maxDelayMs) * (0.5 + jitter * 0.5));
}

/** What a failed attempt or a release asks for. */
export interface FailureAsk {
  readonly podId: string;
  readonly error: string;
  readonly retryable: boolean;
  /** `release` only for a release past the cap. */
  readonly reason: string;
  /** A drain's release (not yet a failure). */
  readonly release: boolean;
}

/** Unchanged guard values of a row, for `RowChange`. */
function expectOf(row: StepRow, checkHolder: boolean) {
  return {
    stepId: row.stepId,
    expectStatus: row.status,
    expectClaimedBy: checkHolder ? row.claimedBy : null,
    expectAttempt: row.attempt,
    expectRetryCount: row.retryCount,
    expectReleaseCount: row.releaseCount,
  };
}

const detail = (d: { [key: string]: Json }) => JSON.stringify(d);

/** The outcome of a failed attempt or release on a row the pod still holds. */
export function decideFailure(
  row: StepRow,
  ask: FailureAsk,
  policy: StorePolicy,
  now: number,
  jitter: number,
): RowChange & { outcome: 'released' | 'retried' | 'dead_lettered' } {
  const base = { ...expectOf(row, true), now, eventPod: ask.podId };
  if (ask.release && row.releaseCount < policy.maxReleases) {
    const releaseCount = row.releaseCount + 1;
    return {
      ...base,
      outcome: 'released',
      kind: 'released',
      status: 'pending',
      claimedBy: null,
      retryCount: row.retryCount,
      releaseCount,
      runAfter: now,
      lastError: row.lastError,
      detail: detail({ release_count: releaseCount }),
    };
  }
  const reason = ask.release ? 'release' : ask.reason;
  if (ask.retryable && row.retryCount < row.maxRetries) {
    const retryCount = row.retryCount + 1;
    const runAfter = now + backoffMs(policy, row.retryCount, jitter);
    return {
      ...base,
      outcome: 'retried',
      kind: 'retried',
      status: 'pending',
      claimedBy: null,
      retryCount,
      releaseCount: row.releaseCount,
      runAfter,
      lastError: ask.error,
      detail: detail({ reason, error: ask.error, retry_count: retryCount, run_after: runAfter }),
    };
  }
  return {
    ...base,
    outcome: 'dead_lettered',
    kind: 'dead_lettered',
    status: 'failed',
    claimedBy: row.claimedBy,
    retryCount: row.retryCount,
    releaseCount: row.releaseCount,
    runAfter: row.runAfter,
    lastError: ask.error,
    detail: detail({ reason: ask.retryable ? reason : 'non_retryable', error: ask.error, retry_count: row.retryCount }),
  };
}

/** Recovery of a claim held by a pod that is not live: `recovered` with backoff, or `dead_lettered`. */
export function decideRecovery(
  row: StepRow,
  sweeper: string | null,
  policy: StorePolicy,
  now: number,
  jitter: number,
): RowChange & { outcome: 'recovered' | 'dead_lettered' } {
  const error = `claim held by dead pod ${row.claimedBy ?? ''}`;
  const base = { ...expectOf(row, true), now, eventPod: sweeper, lastError: error, releaseCount: row.releaseCount };
  if (row.retryCount < row.maxRetries) {
    const retryCount = row.retryCount + 1;
    const runAfter = now + backoffMs(policy, row.retryCount, jitter);
    return {
      ...base,
      outcome: 'recovered',
      kind: 'recovered',
      status: 'pending',
      claimedBy: null,
      retryCount,
      runAfter,
      detail: detail({ reason: 'pod_dead', error, retry_count: retryCount, run_after: runAfter }),
    };
  }
  return {
    ...base,
    outcome: 'dead_lettered',
    kind: 'dead_lettered',
    status: 'failed',
    claimedBy: row.claimedBy,
    retryCount: row.retryCount,
    runAfter: row.runAfter,
    detail: detail({ reason: 'pod_dead', error, retry_count: row.retryCount }),
  };
}

/** Operator replay of a dead-lettered step. */
export function decideReplay(row: StepRow, now: number): RowChange {
  return {
    ...expectOf(row, false),
    now,
    eventPod: null,
    kind: 'replayed',
    status: 'pending',
    claimedBy: null,
    retryCount: 0,
    releaseCount: row.releaseCount,
    runAfter: now,
    lastError: row.lastError,
    detail: detail({ old_retry_count: row.retryCount }),
  };
}

/** An operator's cancel of a pending or claimed row: the holder and counts are kept, so its fence fails. */
export function decideCancel(row: StepRow, now: number): RowChange {
  return {
    ...expectOf(row, true),
    now,
    eventPod: null,
    kind: 'cancelled',
    status: 'cancelled',
    claimedBy: row.claimedBy,
    retryCount: row.retryCount,
    releaseCount: row.releaseCount,
    runAfter: row.runAfter,
    lastError: row.lastError,
    detail: detail({ previous_status: row.status, claimed_by: row.status === 'claimed' ? row.claimedBy : null }),
  };
}

/** The row after a change was applied (what the statement wrote), without reading it again. */
export function rowAfter(row: StepRow, change: RowChange): StepRow {
  return {
    ...row,
    status: change.status as StepRow['status'],
    claimedBy: change.claimedBy,
    retryCount: change.retryCount,
    releaseCount: change.releaseCount,
    runAfter: change.runAfter,
    lastError: change.lastError,
    lastUpdateTs: change.now,
  };
}
