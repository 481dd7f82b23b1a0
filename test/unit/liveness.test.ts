/**
 * The liveness rule (src/config/liveness.ts): configuration accepts (interval, threshold, budget)
 * exactly when some fence window meets both conditions, the chosen window meets them, and a refusal
 * names values that are accepted. Seeded by FLEET_Q_TEST_SEED.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { fenceWindowMs, latencyMarginMs, livenessHolds, livenessProblem } from '../../src/config/liveness.js';

const SEED = Number(process.env['FLEET_Q_TEST_SEED'] ?? 20_261_129);
const ms = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 400_000 }));

const accepts = (i: number, t: number, l: number): boolean => {
  try {
    loadConfig({}, { heartbeatIntervalSeconds: i / 1000, deadPodThresholdSeconds: t / 1000, heartbeatLatencyBudgetSeconds: l / 1000 });
    return true;
  } catch {
    return false;
  }
};

describe('liveness rule', () => {
  it('examples: defaults, the smallest 1 s setting, and the 3 × setting that used to fence every beat', () => {
    expect(fenceWindowMs({ heartbeatIntervalMs: 30_000, deadPodThresholdMs: 180_000 })).toBe(105_000);
    expect(fenceWindowMs({ heartbeatIntervalMs: 1_000, deadPodThresholdMs: 3_000 })).toBe(2_000);
    expect(latencyMarginMs({ heartbeatIntervalMs: 1_000, deadPodThresholdMs: 3_000 })).toBe(1_000);
    expect(livenessHolds({ heartbeatIntervalMs: 1_000, deadPodThresholdMs: 3_000, latencyBudgetMs: 1_000 })).toBe(true);
    expect(livenessHolds({ heartbeatIntervalMs: 1_000, deadPodThresholdMs: 2_999, latencyBudgetMs: 1_000 })).toBe(false);
    // Snowflake's 5 s budget needs 10 s between interval and threshold.
    expect(livenessProblem({ heartbeatIntervalMs: 10_000, deadPodThresholdMs: 19_000, latencyBudgetMs: 5_000 })).toMatch(/raise it to 20 or more/);
  });

  it('accepts exactly when a window exists with W ≥ I + L and W + L ≤ T, and the chosen window is one', () => {
    fc.assert(
      fc.property(ms, ms, ms, (i, t, l) => {
        const exists = t - l >= i + l; // the integer windows [I + L, T − L] are not empty
        expect(accepts(i, t, l)).toBe(exists);
        if (!exists) return;
        const w = fenceWindowMs({ heartbeatIntervalMs: i, deadPodThresholdMs: t });
        expect(w).toBeGreaterThanOrEqual(i + l);
        expect(w + l).toBeLessThanOrEqual(t);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('a refusal names a threshold, an interval and a budget that are each accepted', () => {
    fc.assert(
      fc.property(ms, ms, ms, (i, t, l) => {
        fc.pre(t - i < 2 * l);
        const message = livenessProblem({ heartbeatIntervalMs: i, deadPodThresholdMs: t, latencyBudgetMs: l })!;
        const threshold = Number(/raise it to ([\d.]+)/.exec(message)![1]) * 1000;
        expect(accepts(i, threshold, l)).toBe(true);
        const interval = /INTERVAL_SECONDS to ([\d.]+)/.exec(message);
        if (interval) expect(accepts(Math.round(Number(interval[1]) * 1000), t, l)).toBe(true);
        const budget = /BUDGET_SECONDS to ([\d.]+)/.exec(message);
        if (budget) expect(accepts(i, t, Math.round(Number(budget[1]) * 1000))).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
