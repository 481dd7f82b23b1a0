/**
 * The decisions the Snowflake store makes in code (src/store/snowflake/decide.ts): release under and
 * past the cap, retry with backoff in [d/2, d], dead-letter when out of retries or non-retryable,
 * recovery of a dead pod's claim, replay. The row conditions carry the values read.
 */
import { describe, expect, it } from 'vitest';
import { backoffMs, decideFailure, decideRecovery, decideReplay } from '../../src/store/snowflake/decide.js';
import type { StepRow } from '../../src/store/store.js';

const POLICY = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 2 };
const NOW = 1_700_000_000_000;
const ROW: StepRow = {
  stepId: 'step_1',
  type: 'echo',
  args: {},
  metadata: {},
  priority: 0,
  status: 'claimed',
  claimedBy: 'pod-a',
  claimToken: 't',
  attempt: 2,
  retryCount: 1,
  maxRetries: 3,
  releaseCount: 0,
  runAfter: NOW - 5_000,
  timeoutMs: 1_000,
  idempotencyKey: null,
  lastError: 'before',
  result: null,
  progress: null,
  createdTs: NOW - 9_000,
  lastUpdateTs: NOW - 1_000,
  dependsOn: [],
  waitingOn: 0,
  deadline: null,
};
const ASK = { podId: 'pod-a', error: 'boom', retryable: true, reason: 'error', release: false };

describe('Snowflake store decisions', () => {
  it('backs off min(base × 2^n, max) × [0.5, 1] for retry_count n before the failure', () => {
    expect(backoffMs(POLICY, 0, 0)).toBe(500);
    expect(backoffMs(POLICY, 0, 1)).toBe(1_000);
    expect(backoffMs(POLICY, 2, 1)).toBe(4_000);
    expect(backoffMs(POLICY, 10, 1)).toBe(8_000);
    expect(backoffMs(POLICY, 10, 0)).toBe(4_000);
  });

  it('retries with retries left: pending, retry_count + 1, run_after within the backoff, guarded on the values read', () => {
    const c = decideFailure(ROW, ASK, POLICY, NOW, 1);
    expect(c).toMatchObject({ outcome: 'retried', status: 'pending', claimedBy: null, retryCount: 2, runAfter: NOW + 2_000, lastError: 'boom' });
    expect(c).toMatchObject({ expectStatus: 'claimed', expectClaimedBy: 'pod-a', expectAttempt: 2, expectRetryCount: 1, expectReleaseCount: 0 });
    expect(JSON.parse(c.detail)).toEqual({ reason: 'error', error: 'boom', retry_count: 2, run_after: NOW + 2_000 });
  });

  it('dead-letters out of retries or non-retryable, keeping the holder and run_after', () => {
    expect(decideFailure({ ...ROW, retryCount: 3 }, ASK, POLICY, NOW, 0.5)).toMatchObject({
      outcome: 'dead_lettered',
      status: 'failed',
      claimedBy: 'pod-a',
      retryCount: 3,
      runAfter: ROW.runAfter,
    });
    const nonRetryable = decideFailure(ROW, { ...ASK, retryable: false }, POLICY, NOW, 0.5);
    expect(nonRetryable.outcome).toBe('dead_lettered');
    expect(JSON.parse(nonRetryable.detail)).toMatchObject({ reason: 'non_retryable', retry_count: 1 });
  });

  it('releases under the cap without counting a retry, and past it fails with reason release', () => {
    const release = { ...ASK, release: true, reason: 'release' };
    expect(decideFailure(ROW, release, POLICY, NOW, 0)).toMatchObject({
      outcome: 'released',
      status: 'pending',
      releaseCount: 1,
      retryCount: 1,
      runAfter: NOW,
      lastError: 'before',
    });
    const past = decideFailure({ ...ROW, releaseCount: 2 }, release, POLICY, NOW, 0);
    expect(past).toMatchObject({ outcome: 'retried', retryCount: 2 });
    expect(JSON.parse(past.detail)).toMatchObject({ reason: 'release' });
  });

  it('recovers a dead holder’s claim with backoff, or dead-letters it, naming the sweeper', () => {
    const r = decideRecovery(ROW, 'pod-b', POLICY, NOW, 0);
    expect(r).toMatchObject({
      outcome: 'recovered',
      kind: 'recovered',
      eventPod: 'pod-b',
      status: 'pending',
      retryCount: 2,
      runAfter: NOW + 1_000,
      lastError: 'claim held by dead pod pod-a',
    });
    expect(decideRecovery({ ...ROW, retryCount: 3 }, null, POLICY, NOW, 0)).toMatchObject({ outcome: 'dead_lettered', status: 'failed', eventPod: null });
  });

  it('replays from the DLQ: pending now, retry_count 0, old retry_count in the event, holder not checked', () => {
    const c = decideReplay({ ...ROW, status: 'failed', retryCount: 3 }, NOW);
    expect(c).toMatchObject({
      status: 'pending',
      retryCount: 0,
      runAfter: NOW,
      claimedBy: null,
      expectStatus: 'failed',
      expectClaimedBy: null,
      kind: 'replayed',
    });
    expect(JSON.parse(c.detail)).toEqual({ old_retry_count: 3 });
  });
});
