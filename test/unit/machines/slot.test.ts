/**
 * The slot machine: a long-lived unit of capacity whose `busy` state is the statechart of the one
 * step it runs. Driven with a stub step actor and a recording parent on a simulated clock; the stub
 * times out only when a test says so (the runtime's actor owns the timer, see step-actor.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { fromCallback } from 'xstate';
import { slotMachine, type ExecuteStepInput, type ReportStepOutput, type StepActorCommand } from '../../../machines/index.js';
import { claimedStep, flush, stepActors, underParent } from './harness.js';

const podId = 'pod-a-00000001';
const step = claimedStep('step_1', { attempt: 2, timeoutMs: 5_000 });

function start(runStep?: ReturnType<typeof stepActors>['logic']) {
  const steps = stepActors();
  const provided = slotMachine.provide({ actors: { runStep: runStep ?? steps.logic } });
  const run = underParent(provided, { slotId: 'slot-3', reportRetryDelayMs: 500 });
  const answer = async (outcome: ReportStepOutput['outcome']) => {
    steps.reports.last().resolve({ outcome });
    await flush();
  };
  const assign = (s = step) => run.child.send({ type: 'slot.assign', podId, step: s });
  return { ...run, steps, reports: steps.reports, answer, assign, run: () => steps.of(step.stepId), value: () => run.child.getSnapshot().value };
}

const freed = (outcome: string, stepId = 'step_1') => ({ type: 'slot.freed', slotId: 'slot-3', stepId, outcome });

describe('slot machine', () => {
  it('idle → busy running one step actor → idle, telling the parent slot.freed with the outcome', async () => {
    const s = start();
    expect(s.value()).toBe('idle');
    s.assign();
    expect(s.value()).toEqual({ busy: 'executing' });
    expect(s.run().input).toEqual({ podId, step });
    s.run().settle({ type: 'handler.succeeded', result: { ok: 1 } });
    expect(s.value()).toEqual({ busy: 'reporting' });
    expect(s.reports.last().input).toEqual({ podId, stepId: 'step_1', attempt: 2, report: { kind: 'complete', result: { ok: 1 } } });
    await s.answer('completed');
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([freed('completed')]);
    // The finished step's actor is stopped and gone from the slot's children.
    expect(s.run().stopped).toBe(true);
    expect(Object.keys(s.child.getSnapshot().children)).toEqual([]);

    s.assign(claimedStep('step_2'));
    expect(s.value()).toEqual({ busy: 'executing' });
    expect(s.child.getSnapshot().context).toMatchObject({ finished: 1, report: null, outcome: null, handlerSettled: false });
    expect(s.errors).toEqual([]);
  });

  it('success.written (the step actor completed a success itself) frees the slot at once, with no write asked', async () => {
    const s = start();
    s.assign();
    s.run().settle({ type: 'success.written', outcome: 'completed' });
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([freed('completed')]);
    expect(s.reports.calls).toHaveLength(0);
    expect(s.run().stopped).toBe(true);
    expect(s.child.getSnapshot().context).toMatchObject({ finished: 1, outcome: 'completed', step: null });
    // A timeout of the stopped step's actor never reaches the slot: nothing more is written or told.
    s.run().timeOut();
    await flush();
    expect(s.value()).toBe('idle');
    expect(s.reports.calls).toHaveLength(0);
    expect(s.facts()).toEqual([freed('completed')]);

    s.assign(claimedStep('step_2'));
    s.steps.of('step_2').settle({ type: 'success.written', outcome: 'dead_lettered' });
    expect(s.facts()).toEqual([freed('completed'), freed('dead_lettered', 'step_2')]);
    expect(s.errors).toEqual([]);
  });

  it("fenced while the step actor makes its own complete: that complete's outcome ends the step", () => {
    const s = start();
    s.assign();
    s.child.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.value()).toEqual({ busy: 'settling' });
    s.run().settle({ type: 'success.written', outcome: 'completed' });
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([freed('completed')]);
    expect(s.reports.calls).toHaveLength(0);
  });

  it("released during the step actor's own complete: the settlement, then the answer of that complete, end the step", async () => {
    const s = start();
    s.assign();
    s.child.send({ type: 'step.abort', mode: 'release' });
    expect(s.value()).toEqual({ busy: 'reporting' });
    expect(s.run().aborts).toEqual(['drain']);
    // The actor answers the asked write with its own complete's outcome, after its settlement.
    s.run().settle({ type: 'handler.succeeded', result: 1 });
    await s.answer('completed');
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([freed('completed')]);
  });

  it('ignores a second assignment while busy (the supervisor only assigns idle slots)', () => {
    const s = start();
    s.assign();
    s.assign(claimedStep('step_2'));
    expect(s.steps.runs.map((r) => r.input.step.stepId)).toEqual(['step_1']);
    expect(s.child.getSnapshot().context.step?.stepId).toBe('step_1');
  });

  it('reports a handler error with its retryable flag and frees itself with the outcome the store decided', async () => {
    const retry = start();
    retry.assign();
    retry.run().settle({ type: 'handler.failed', error: 'boom', retryable: true });
    expect(retry.reports.last().input.report).toEqual({ kind: 'fail', error: 'boom', retryable: true, reason: 'error' });
    await retry.answer('retried');
    expect(retry.facts()).toEqual([freed('retried')]);

    const dlq = start();
    dlq.assign();
    dlq.run().settle({ type: 'handler.failed', error: 'bad input', retryable: false });
    expect(dlq.reports.last().input.report).toEqual({ kind: 'fail', error: 'bad input', retryable: false, reason: 'error' });
    await dlq.answer('dead_lettered');
    expect(dlq.facts()).toEqual([freed('dead_lettered')]);

    const stale = start();
    stale.assign();
    stale.run().settle({ type: 'handler.succeeded', result: null });
    await stale.answer('stale');
    expect(stale.facts()).toEqual([freed('stale')]);
  });

  it('on timeout: reports the failure and aborts the work, but stays busy until the work settles', async () => {
    const s = start();
    s.assign();
    // The slot reads no clock: only its step's actor says the attempt timed out.
    s.clock.increment(60_000);
    expect(s.value()).toEqual({ busy: 'executing' });
    expect(s.reports.calls).toHaveLength(0);
    s.run().timeOut(5_000);
    expect(s.value()).toEqual({ busy: 'reporting' });
    expect(s.run().aborts).toEqual(['timeout']);
    expect(s.reports.last().input.report).toEqual({ kind: 'fail', error: 'step timed out after 5000 ms', retryable: true, reason: 'timeout' });
    await s.answer('retried');
    expect(s.value()).toEqual({ busy: 'settling' });
    expect(s.run().stopped).toBe(false);
    s.clock.increment(60_000); // however long it takes
    expect(s.facts()).toEqual([]);
    s.run().settle({ type: 'handler.succeeded', result: 'too late' });
    await flush();
    expect(s.facts()).toEqual([freed('retried')]);
    expect(s.reports.calls).toHaveLength(1); // the late result is never written
  });

  it('a timeout after the handler extended it says how long after the last extension it passed', async () => {
    const s = start();
    s.assign();
    s.run().timeOut(10_000, true);
    expect(s.run().aborts).toEqual(['timeout']);
    expect(s.reports.last().input.report).toEqual({
      kind: 'fail',
      error: 'step timed out 10000 ms after its handler last extended the timeout',
      retryable: true,
      reason: 'timeout',
    });
    await s.answer('retried');
    s.run().settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.facts()).toEqual([freed('retried')]);
    // The next step's timeout is told as its own.
    s.assign(claimedStep('step_2', { timeoutMs: 7_000 }));
    s.steps.of('step_2').timeOut();
    expect(s.reports.last().input.report).toMatchObject({ error: 'step timed out after 7000 ms', reason: 'timeout' });
  });

  it('ignores a handler.timedOut that raced another event out of executing', async () => {
    // Reporting a handler error: the report stands and nothing is aborted.
    const reporting = start();
    reporting.assign();
    reporting.run().settle({ type: 'handler.failed', error: 'boom', retryable: true });
    reporting.run().timeOut();
    expect(reporting.value()).toEqual({ busy: 'reporting' });
    expect(reporting.run().aborts).toEqual([]);
    expect(reporting.reports.calls).toHaveLength(1);
    await reporting.answer('retried');
    expect(reporting.facts()).toEqual([freed('retried')]);
    expect(reporting.reports.last().input.report).toMatchObject({ error: 'boom', reason: 'error' });

    // Waiting to retry a failed write.
    const retrying = start();
    retrying.assign();
    retrying.run().settle({ type: 'handler.succeeded', result: 1 });
    retrying.reports.last().reject(new Error('SQLITE_BUSY'));
    await flush();
    retrying.run().timeOut();
    expect(retrying.value()).toEqual({ busy: 'retryingReport' });
    expect(retrying.run().aborts).toEqual([]);
    retrying.clock.increment(500);
    expect(retrying.reports.last().input.report).toEqual({ kind: 'complete', result: 1 });

    // (Settling: see the fenced abort below.) Idle:
    const idle = start();
    idle.child.send({ type: 'handler.timedOut', ms: 1_000, extended: false });
    expect(idle.value()).toBe('idle');
    expect(idle.facts()).toEqual([]);
    expect([reporting, retrying, idle].flatMap((x) => x.errors)).toEqual([]);
  });

  it('on timeout, work that settles while the report is in flight ends the step with the report', async () => {
    const s = start();
    s.assign();
    s.run().timeOut();
    s.run().settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.value()).toEqual({ busy: 'reporting' });
    await s.answer('dead_lettered');
    expect(s.facts()).toEqual([freed('dead_lettered')]);
    expect(s.reports.calls).toHaveLength(1);
  });

  it('retries a write that failed with a database error until it commits', async () => {
    const s = start();
    s.assign();
    s.run().settle({ type: 'handler.succeeded', result: 7 });
    s.reports.last().reject(new Error('SQLITE_BUSY'));
    await flush();
    expect(s.value()).toEqual({ busy: 'retryingReport' });
    s.clock.increment(499);
    expect(s.reports.calls).toHaveLength(1);
    s.clock.increment(1);
    expect(s.reports.calls).toHaveLength(2);
    expect(s.reports.last().input).toEqual(s.reports.calls[0]!.input);
    expect(s.child.getSnapshot().context.reportFailures).toBe(1);
    await s.answer('completed');
    expect(s.facts()).toEqual([freed('completed')]);
  });

  it('abort with release (drain): aborts the work, reports a release, and ends without waiting for the work', async () => {
    const s = start();
    s.assign();
    s.child.send({ type: 'step.abort', mode: 'release' });
    expect(s.run().aborts).toEqual(['drain']);
    expect(s.reports.last().input.report).toEqual({ kind: 'release' });
    await s.answer('released');
    expect(s.facts()).toEqual([freed('released')]);
    expect(s.run().stopped).toBe(true);
  });

  it('abort when fenced: aborts the work, writes nothing, and ends stale once the work settles', async () => {
    const s = start();
    s.assign();
    s.child.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.run().aborts).toEqual(['fenced']);
    expect(s.value()).toEqual({ busy: 'settling' });
    s.run().timeOut(); // a timeout racing the abort: no timeout report either
    expect(s.value()).toEqual({ busy: 'settling' });
    expect(s.run().aborts).toEqual(['fenced']);
    expect(s.reports.calls).toHaveLength(0);
    s.run().settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.facts()).toEqual([freed('stale')]);
    expect(s.reports.calls).toHaveLength(0);
  });

  it('abort lets a write in flight finish, and stops retrying a failed one', async () => {
    const inFlight = start();
    inFlight.assign();
    inFlight.run().settle({ type: 'handler.succeeded', result: 1 });
    inFlight.child.send({ type: 'step.abort', mode: 'fenced' });
    await inFlight.answer('completed');
    expect(inFlight.facts()).toEqual([freed('completed')]);

    const retrying = start();
    retrying.assign();
    retrying.run().settle({ type: 'handler.succeeded', result: 1 });
    retrying.reports.last().reject(new Error('disk full'));
    await flush();
    retrying.child.send({ type: 'step.abort', mode: 'release' });
    expect(retrying.facts()).toEqual([freed('stale')]);
    retrying.clock.increment(10_000);
    expect(retrying.reports.calls).toHaveLength(1);
  });

  it('a drain abort ends a step that is only waiting for its timed-out work', async () => {
    const s = start();
    s.assign();
    s.run().timeOut();
    await s.answer('retried');
    s.child.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.value()).toEqual({ busy: 'settling' });
    s.child.send({ type: 'step.abort', mode: 'release' });
    expect(s.facts()).toEqual([freed('retried')]);
  });

  it('an idle slot ignores step.abort', () => {
    const s = start();
    s.child.send({ type: 'step.abort', mode: 'release' });
    s.child.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('a late settlement of a released step never reaches the next step', async () => {
    const s = start();
    s.assign();
    s.child.send({ type: 'step.abort', mode: 'release' });
    await s.answer('released');
    const released = s.run();
    s.assign(claimedStep('step_2'));
    released.settle({ type: 'handler.succeeded', result: 'stale news' });
    await flush();
    expect(s.value()).toEqual({ busy: 'executing' });
    expect(s.child.getSnapshot().context).toMatchObject({ handlerSettled: false, report: null });
  });

  it('frees itself with outcome stale and the error when its step actor crashes', async () => {
    const crashing = fromCallback<StepActorCommand, ExecuteStepInput>(() => {
      throw new Error('registry lookup failed');
    });
    const s = start(crashing);
    s.assign();
    await flush();
    expect(s.value()).toBe('idle');
    expect(s.facts()).toEqual([{ ...freed('stale'), error: 'registry lookup failed' }]);
    expect(s.errors).toEqual([]);
  });
});
