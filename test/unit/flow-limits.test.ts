/**
 * `defineStep` flow-control options: `concurrency` and `rateLimit` are checked when a type is defined
 * (a bad limit is refused with every problem named), and a registry hands the limits of its types to
 * every claim.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FleetError } from '../../src/errors.js';
import { defineStep, StepRegistry } from '../../src/steps/registry.js';

const base = { args: z.object({}), handler: () => null };

describe('defineStep flow limits', () => {
  it('refuses a concurrency or rate limit that is not a positive integer, naming each field', () => {
    let caught: unknown;
    try {
      defineStep({ ...base, type: 'flow.bad', concurrency: 0, rateLimit: { max: 1.5, intervalMs: -1 } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FleetError);
    expect((caught as FleetError).errors?.map((e) => e.loc)).toEqual(['concurrency', 'rateLimit.max', 'rateLimit.intervalMs']);
  });

  it('passes the limits of the limited types only, by type name', () => {
    const registry = new StepRegistry([
      defineStep({ ...base, type: 'flow.free' }),
      defineStep({ ...base, type: 'flow.capped', concurrency: 3 }),
      defineStep({ ...base, type: 'flow.metered', rateLimit: { max: 10, intervalMs: 1_000 }, concurrency: 2 }),
    ]);
    expect(registry.flowLimits()).toEqual([
      { type: 'flow.capped', concurrency: 3 },
      { type: 'flow.metered', concurrency: 2, rateLimit: { max: 10, intervalMs: 1_000 } },
    ]);
  });
});
