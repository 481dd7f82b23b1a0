/**
 * The graph check of `fleet-q/testing`: `xstate/graph` reaches every state of the example lifecycle
 * (its transient `validating` state included), and names a state no event
 * reaches; `requireAllStatesReachable` turns that into a G1 failure before any run.
 */
import { setup } from 'xstate';
import { z } from 'zod';
import { expect, it } from 'vitest';
import { paymentLifecycle } from '../../visualizations/payment-lifecycle.js';
import { defineStep } from '../../src/index.js';
import { checkStepLifecycle, LifecycleCheckError, lifecycleReachability } from '../../src/testing/index.js';

const orphaned = setup({}).createMachine({
  id: 'orphaned',
  initial: 'working',
  states: {
    working: { on: { DONE: 'done' } },
    compensating: { on: { DONE: 'done' } }, // nothing leads here
    done: { type: 'final' },
  },
  output: () => ({ outcome: 'completed', result: null }),
});

it('reaches every state of the example lifecycle, with each example args', () => {
  const report = lifecycleReachability(paymentLifecycle('correct'), [{ amount: 5 }, { amount: -1 }]);
  expect(report.unreachable).toEqual([]);
  expect(report.reached).toEqual([...report.states].sort());
});

it('names a state nothing reaches, and fails on it when asked to', async () => {
  expect(lifecycleReachability(orphaned, [{}])).toMatchObject({ unreachable: ['compensating'], reached: ['done', 'working'] });
  const step = defineStep({ type: 'graph.orphaned', args: z.object({}), lifecycle: orphaned, handler: async () => null });
  const err = await checkStepLifecycle(step, { requireAllStatesReachable: true, numRuns: 1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LifecycleCheckError);
  expect((err as Error).message).toMatch(/broke rule G1: states no event reaches: compensating/);
});
