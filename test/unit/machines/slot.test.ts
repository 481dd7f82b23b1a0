import { describe, expect, it } from 'vitest';
import { slotMachine, stepMachine, type ReportStepInput, type ReportStepOutput } from '../../../machines/index.js';
import { claimedStep, flush, handlers, held, underParent } from './harness.js';

const podId = 'pod-a-00000001';

function start(step = stepMachine) {
  const handler = handlers();
  const reports = held<ReportStepOutput, ReportStepInput>();
  const provided = slotMachine.provide({
    actors: { stepMachine: step.provide({ actors: { executeStep: handler.logic, reportStep: reports.logic } }) },
  });
  const run = underParent(provided, { slotId: 'slot-3', reportRetryDelayMs: 100 });
  return { ...run, handler, reports, value: () => run.child.getSnapshot().value };
}

describe('slot machine', () => {
  it('idle → busy with one step → idle, telling the parent slot.freed with the outcome', async () => {
    const s = start();
    expect(s.value()).toBe('idle');
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_1') });
    expect(s.value()).toBe('busy');
    expect(s.handler.of('step_1').input).toEqual({ podId, step: claimedStep('step_1') });

    s.handler.of('step_1').settle({ type: 'handler.succeeded', result: 'ok' });
    s.reports.last().resolve({ outcome: 'completed' });
    await flush();
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([{ type: 'slot.freed', slotId: 'slot-3', stepId: 'step_1', outcome: 'completed' }]);

    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_2') });
    expect(s.value()).toBe('busy');
    expect(s.child.getSnapshot().context.finished).toBe(1);
    expect(s.errors).toEqual([]);
  });

  it('ignores a second assignment while busy (the supervisor only assigns idle slots)', () => {
    const s = start();
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_1') });
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_2') });
    expect(s.handler.runs.map((r) => r.input.step.stepId)).toEqual(['step_1']);
    expect(s.child.getSnapshot().context.step?.stepId).toBe('step_1');
  });

  it('stays busy after a timeout until the handler settles', async () => {
    const s = start();
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_1', { timeoutMs: 1_000 }) });
    s.clock.increment(1_000);
    s.reports.last().resolve({ outcome: 'retried' });
    await flush();
    expect(s.value()).toBe('busy');
    expect(s.facts()).toEqual([]);
    s.handler.of('step_1').settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([{ type: 'slot.freed', slotId: 'slot-3', stepId: 'step_1', outcome: 'retried' }]);
  });

  it('forwards step.abort to its step, and ignores it when idle', async () => {
    const s = start();
    s.child.send({ type: 'step.abort', mode: 'release' });
    expect(s.value()).toBe('idle');
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_1') });
    s.child.send({ type: 'step.abort', mode: 'release' });
    expect(s.handler.of('step_1').aborts).toEqual(['drain']);
    s.reports.last().resolve({ outcome: 'released' });
    await flush();
    expect(s.facts()).toEqual([{ type: 'slot.freed', slotId: 'slot-3', stepId: 'step_1', outcome: 'released' }]);
    expect(s.errors).toEqual([]);
  });

  it('frees itself with outcome stale and the error when its step actor crashes', async () => {
    const buggy = stepMachine.provide({
      actions: {
        recordOutcome: () => {
          throw new Error('bug in recordOutcome');
        },
      },
    });
    const s = start(buggy);
    s.child.send({ type: 'slot.assign', podId, step: claimedStep('step_1') });
    s.handler.of('step_1').settle({ type: 'handler.succeeded', result: 1 });
    s.reports.last().resolve({ outcome: 'completed' });
    await flush();
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([
      { type: 'slot.freed', slotId: 'slot-3', stepId: 'step_1', outcome: 'stale', error: 'bug in recordOutcome' },
    ]);
    expect(s.errors).toEqual([]);
  });
});
