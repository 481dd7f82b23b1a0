/**
 * The pure parts of the pod runtime: configuration → supervisor timings, and how a handler's return
 * value becomes a stored result (or a permanent failure): serialised once, by the store.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ValidationError } from '../../src/errors.js';
import { serialiseResult } from '../../src/store/json.js';
import { pruneIntervalMs, supervisorInputOf } from '../../src/pod/timing.js';

describe('supervisorInputOf', () => {
  it('converts the defaults to milliseconds', () => {
    const input = supervisorInputOf(loadConfig({}));
    expect(input).toEqual({
      capacity: 8,
      heartbeatIntervalMs: 30_000,
      fenceWindowMs: 105_000,
      claimIntervalMs: 5_000,
      claimMinBatch: 1,
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
      loadConfig(
        {},
        {
          heartbeatIntervalSeconds: 0.1,
          deadPodThresholdSeconds: 0.3,
          heartbeatLatencyBudgetSeconds: 0.1,
          claimIntervalSeconds: 0.0001,
          shutdownGraceSeconds: 0,
          retentionDays: 0,
        },
      ),
    );
    expect(input).toMatchObject({
      heartbeatIntervalMs: 100,
      fenceWindowMs: 200,
      claimIntervalMs: 1,
      shutdownGraceMs: 0,
      retentionMs: 0,
      registerRetryDelayMs: 100,
      reportRetryDelayMs: 100,
    });
  });

  it('batches claims on Snowflake only: the batch share of the capacity, rounded up, at least 1', () => {
    const snowflake = {
      storageMode: 'snowflake',
      snowflakeAccount: 'acme',
      snowflakeUser: 'fleetq',
      snowflakePassword: 'pw',
      snowflakeDatabase: 'QUEUE',
      snowflakeWarehouse: 'WH',
    } as const;
    expect(supervisorInputOf(loadConfig({}, { ...snowflake, maxParallelism: 75 })).claimMinBatch).toBe(30);
    expect(supervisorInputOf(loadConfig({}, { ...snowflake, maxParallelism: 75, snowflakeClaimBatchShare: 1 })).claimMinBatch).toBe(60);
    expect(supervisorInputOf(loadConfig({}, { ...snowflake, maxParallelism: 10, snowflakeClaimBatchShare: 0.3 })).claimMinBatch).toBe(3);
    expect(supervisorInputOf(loadConfig({}, { ...snowflake, maxParallelism: 1, snowflakeClaimBatchShare: 0.01 })).claimMinBatch).toBe(1);
    expect(supervisorInputOf(loadConfig({}, { maxParallelism: 75, snowflakeClaimBatchShare: 1 })).claimMinBatch).toBe(1);
  });

  it('prunes hourly at most, at 1/24 of a short retention, never more often than the sweep', () => {
    expect(pruneIntervalMs(30 * 86_400_000, 300_000)).toBe(3_600_000);
    expect(pruneIntervalMs(2_400_000, 60_000)).toBe(100_000);
    expect(pruneIntervalMs(864, 300)).toBe(300);
  });
});

describe('serialiseResult', () => {
  it('stores plain JSON: undefined as null, dates as strings, undefined fields dropped', () => {
    expect(serialiseResult(undefined)).toBe('null');
    expect(JSON.parse(serialiseResult({ at: new Date(0), gone: undefined, n: 1 } as never))).toEqual({ at: '1970-01-01T00:00:00.000Z', n: 1 });
  });

  it('refuses, as bad input, a value JSON cannot hold or one over 256 KiB', () => {
    expect(() => serialiseResult({ big: 10n } as never)).toThrow(ValidationError);
    expect(() => serialiseResult({ big: 10n } as never)).toThrow(/not JSON-serialisable/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => serialiseResult(cyclic as never)).toThrow(ValidationError);
    expect(serialiseResult('x'.repeat(256 * 1024 - 2))).toHaveLength(256 * 1024);
    expect(() => serialiseResult('x'.repeat(256 * 1024 - 1))).toThrow(/^step result is 262145 bytes serialised; the limit is 262144 \(256 KiB\)/);
    // Multi-byte characters count as bytes, not as string length: 87,382 × 3 bytes + 2 quotes > 256 KiB.
    expect(() => serialiseResult('€'.repeat(87_382))).toThrow(/262148 bytes/);
  });
});

describe('livenessChecked', () => {
  it('turns healthy into unhealthy once the last proof of liveness is older than the fence window', async () => {
    const { livenessChecked } = await import('../../src/pod/health.js');
    const windowMs = 1100;
    expect(livenessChecked('healthy', 1100, windowMs)).toBe('healthy');
    expect(livenessChecked('healthy', 1101, windowMs)).toBe('unhealthy');
    expect(livenessChecked('healthy', undefined, windowMs)).toBe('unhealthy');
    expect(livenessChecked('draining', 10_000, windowMs)).toBe('draining');
    expect(livenessChecked('starting', undefined, windowMs)).toBe('starting');
  });
});
