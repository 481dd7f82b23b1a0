/**
 * Retention's time-bounded batches (batches.ts): the next batch's size follows the last one's
 * duration toward the target within bounds, and the loop prunes everything and stops at the first
 * short batch. The batch function here is a counter standing in for a driver's delete.
 */
import { describe, expect, it } from 'vitest';
import { nextBatchSize, pruneInTimedBatches } from '../../src/store/batches.js';

const SIZING = { initial: 200, min: 20, max: 2_000, targetMs: 20 };

describe('nextBatchSize', () => {
  it('scales by target ÷ duration, at most halving or doubling, within [min, max]', () => {
    expect(nextBatchSize(SIZING, 200, 20)).toBe(200);
    expect(nextBatchSize(SIZING, 200, 25)).toBe(160);
    expect(nextBatchSize(SIZING, 200, 200)).toBe(100);
    expect(nextBatchSize(SIZING, 200, 15)).toBe(267);
    expect(nextBatchSize(SIZING, 200, 0)).toBe(400);
    expect(nextBatchSize(SIZING, 30, 1_000)).toBe(20);
    expect(nextBatchSize(SIZING, 1_500, 1)).toBe(2_000);
  });
});

describe('pruneInTimedBatches', () => {
  it('prunes every row in batches of the sizes it chose and stops at the first short batch', async () => {
    let left = 5_000;
    const sizes: number[] = [];
    const total = await pruneInTimedBatches({ ...SIZING, targetMs: 1_000 }, async (size) => {
      sizes.push(size);
      const steps = Math.min(size, left);
      left -= steps;
      return { steps, events: 3 * steps, pods: 0 };
    });
    expect(total).toEqual({ steps: 5_000, events: 15_000, pods: 0 });
    expect(left).toBe(0);
    // Instant batches against a 1 s target: each size doubles, up to the maximum; the last finds none left.
    expect(sizes).toEqual([200, 400, 800, 1_600, 2_000, 2_000]);
  });
});
