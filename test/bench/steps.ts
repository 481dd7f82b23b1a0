/**
 * The benchmark's step types, loadable as FLEET_Q_HANDLERS by pod processes: `noop` does nothing,
 * so a run measures the queue and not the work; `noop.timed` also notes when its handler started,
 * for pickup latency in the benchmark's own process. Must not do I/O.
 */
import { z } from 'zod';
import { defineStep } from '../../src/steps/registry.js';

/** stepId → handler start (epoch ms, sub-millisecond), filled by `noop.timed` in this process. */
export const handlerStarts = new Map<string, number>();

export const noopStep = defineStep({
  type: 'noop',
  args: z.object({}),
  handler: () => null,
});

export const timedNoopStep = defineStep({
  type: 'noop.timed',
  args: z.object({}),
  handler: (_args, ctx) => {
    handlerStarts.set(ctx.stepId, performance.timeOrigin + performance.now());
    return null;
  },
});

/** The FLEET_Q_HANDLERS export. */
export const steps = [noopStep, timedNoopStep];
