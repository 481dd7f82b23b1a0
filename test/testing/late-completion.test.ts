/**
 * The fences hold for custom lifecycles (DESIGN §3): in a simulated run, the pod holding a payment
 * step dies mid-call, another pod recovers and completes the step, and the dead pod's lifecycle then
 * finishes its call late: its completion is rejected as stale and the step keeps its one outcome.
 */
import { expect, it } from 'vitest';
import { runSchedule, runViolations, type Schedule } from '../../src/testing/index.js';
import type { StepDefinition } from '../../src/steps/registry.js';
import { paymentStep } from '../../visualizations/payment-lifecycle.js';

it('a late completion from a dead pod is rejected as stale; the step completes once', async () => {
  // The step lands on one of the two first pods; kill each in turn until the run shows the late write.
  for (const pod of [0, 1]) {
    const schedule: Schedule = {
      handler: ['hang'],
      ops: [
        { op: 'submit', args: 0, key: null },
        { op: 'advance', ms: 50 },
        { op: 'pod_death', pod },
        { op: 'advance', ms: 8_000 },
        { op: 'late_completion' },
        { op: 'advance', ms: 3_000 },
      ],
    };
    const record = await runSchedule(paymentStep('correct') as StepDefinition, [{ amount: 5 }], schedule);
    expect(runViolations(record)).toEqual([]);
    const kinds = record.events.map((e) => e.kind);
    if (!kinds.includes('recovered')) continue; // this pod did not hold the step
    expect(kinds).toEqual(expect.arrayContaining(['submitted', 'claimed', 'recovered', 'claimed', 'completed', 'stale_write_rejected']));
    expect(kinds.filter((k) => k === 'completed')).toHaveLength(1);
    expect(record.rows[0]).toMatchObject({ status: 'completed', attempt: 2, retryCount: 1 });
    return;
  }
  expect.unreachable('no schedule killed the pod holding the step');
});
