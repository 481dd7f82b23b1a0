/**
 * The pure parts of the pod runtime: configuration → supervisor timings, and how a handler's return
 * value becomes a stored result (or a permanent failure).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { resultEvent } from '../../src/pod/execute-step.js';
import { pruneIntervalMs, supervisorInputOf } from '../../src/pod/timing.js';

describe('supervisorInputOf', () => {
  it('converts the defaults to milliseconds', () => {
    const input = supervisorInputOf(loadConfig({}));
    expect(input).toEqual({
      capacity: 8,
      heartbeatIntervalMs: 30_000,
      deadPodThresholdMs: 180_000,
      claimIntervalMs: 5_000,
      leaderCheckIntervalMs: 60_000,
      recoveryIntervalMs: 300_000,
      pruneIntervalMs: 3_600_000,
      retentionMs: 30 * 86_400_000,
      shutdownGraceMs: 25_000,
      registerRetryDelayMs: 5_000,
      reportRetryDelayMs: 1_000,
    });
  });

  it('keeps fractional intervals, never below 1 ms, and a zero grace', () => {
    const input = supervisorInputOf(
      loadConfig({}, { heartbeatIntervalSeconds: 0.1, deadPodThresholdSeconds: 0.3, claimIntervalSeconds: 0.0001, shutdownGraceSeconds: 0, retentionDays: 0 }),
    );
    expect(input).toMatchObject({
      heartbeatIntervalMs: 100, deadPodThresholdMs: 300, claimIntervalMs: 1, shutdownGraceMs: 0, retentionMs: 0,
      registerRetryDelayMs: 100, reportRetryDelayMs: 100,
    });
  });

  it('prunes hourly at most, at 1/24 of a short retention, never more often than the sweep', () => {
    expect(pruneIntervalMs(30 * 86_400_000, 300_000)).toBe(3_600_000);
    expect(pruneIntervalMs(2_400_000, 60_000)).toBe(100_000);
    expect(pruneIntervalMs(864, 300)).toBe(300);
  });
});

describe('resultEvent', () => {
  it('stores plain JSON: undefined as null, dates as strings, undefined fields dropped', () => {
    expect(resultEvent(undefined)).toEqual({ type: 'handler.succeeded', result: null });
    expect(resultEvent({ at: new Date(0), gone: undefined, n: 1 })).toEqual({ type: 'handler.succeeded', result: { at: '1970-01-01T00:00:00.000Z', n: 1 } });
  });

  it('fails for good on a value JSON cannot hold or one over 256 KiB', () => {
    expect(resultEvent({ big: 10n })).toMatchObject({ type: 'handler.failed', retryable: false, error: expect.stringContaining('not JSON-serialisable') });
    expect(resultEvent('x'.repeat(256 * 1024 - 2))).toMatchObject({ type: 'handler.succeeded' });
    expect(resultEvent('x'.repeat(256 * 1024 - 1))).toMatchObject({ type: 'handler.failed', retryable: false, error: expect.stringContaining('262145 bytes') });
  });
});

describe('livenessChecked', () => {
  it('turns healthy into unhealthy once the last proof of liveness is older than the fence window', async () => {
    const { livenessChecked } = await import('../../src/pod/health.js');
    const { fenceWindowMs } = await import('../../machines/index.js');
    const windowMs = fenceWindowMs({ deadPodThresholdMs: 1_500, heartbeatIntervalMs: 200 });
    expect(windowMs).toBe(1100);
    expect(livenessChecked('healthy', 1100, windowMs)).toBe('healthy');
    expect(livenessChecked('healthy', 1101, windowMs)).toBe('unhealthy');
    expect(livenessChecked('healthy', undefined, windowMs)).toBe('unhealthy');
    expect(livenessChecked('draining', 10_000, windowMs)).toBe('draining');
    expect(livenessChecked('starting', undefined, windowMs)).toBe('starting');
  });
});
