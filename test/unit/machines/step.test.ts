import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import {
  stepMachine,
  type ExecuteStepInput,
  type HandlerAbortEvent,
  type ReportStepInput,
  type ReportStepOutput,
} from '../../../machines/index.js';
import { claimedStep, flush, handlers, held } from './harness.js';

const podId = 'pod-a-00000001';
const step = claimedStep('step_1', { attempt: 2, timeoutMs: 5_000 });

function start(overrides: { executeStep?: ReturnType<typeof handlers>['logic'] } = {}) {
  const handler = handlers();
  const reports = held<ReportStepOutput, ReportStepInput>();
  const clock = new SimulatedClock();
  const actor = createActor(
    stepMachine.provide({ actors: { executeStep: overrides.executeStep ?? handler.logic, reportStep: reports.logic } }),
    { clock, input: { podId, step, reportRetryDelayMs: 500 } },
  );
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const run = () => handler.of(step.stepId);
  const answer = async (outcome: ReportStepOutput['outcome']) => {
    reports.last().resolve({ outcome });
    await flush();
  };
  return { actor, clock, handler, run, reports, answer, errors, value: () => actor.getSnapshot().value };
}

describe('step machine', () => {
  it('runs the handler with the claimed step, reports success and completes', async () => {
    const s = start();
    expect(s.run().input).toEqual({ podId, step });
    expect(s.value()).toEqual({ active: 'executing' });
    s.run().settle({ type: 'handler.succeeded', result: { ok: 1 } });
    expect(s.value()).toEqual({ active: 'reporting' });
    expect(s.reports.last().input).toEqual({ podId, stepId: 'step_1', attempt: 2, report: { kind: 'complete', result: { ok: 1 } } });
    await s.answer('completed');
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.value()).toBe('completed');
    expect(s.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'completed' });
    expect(s.run().stopped).toBe(true);
    expect(s.errors).toEqual([]);
  });

  it('reports a handler error with its retryable flag and ends as the store decided', async () => {
    const retry = start();
    retry.run().settle({ type: 'handler.failed', error: 'boom', retryable: true });
    expect(retry.reports.last().input.report).toEqual({ kind: 'fail', error: 'boom', retryable: true, reason: 'error' });
    await retry.answer('retried');
    expect(retry.value()).toBe('retried');

    const dlq = start();
    dlq.run().settle({ type: 'handler.failed', error: 'bad input', retryable: false });
    expect(dlq.reports.last().input.report).toEqual({ kind: 'fail', error: 'bad input', retryable: false, reason: 'error' });
    await dlq.answer('dead_lettered');
    expect(dlq.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'dead_lettered' });
  });

  it('a write that matched no row ends stale', async () => {
    const s = start();
    s.run().settle({ type: 'handler.succeeded', result: null });
    await s.answer('stale');
    expect(s.value()).toBe('stale');
  });

  it('on timeout: reports the failure and aborts the handler, but stays active until the handler settles', async () => {
    const s = start();
    s.clock.increment(4_999);
    expect(s.reports.calls).toHaveLength(0);
    s.clock.increment(1);
    expect(s.run().aborts).toEqual(['timeout']);
    expect(s.reports.last().input.report).toEqual({ kind: 'fail', error: 'step timed out after 5000 ms', retryable: true, reason: 'timeout' });
    await s.answer('retried');
    expect(s.value()).toEqual({ active: 'settling' });
    expect(s.run().stopped).toBe(false);

    s.clock.increment(60_000); // however long it takes
    expect(s.actor.getSnapshot().status).toBe('active');
    s.run().settle({ type: 'handler.succeeded', result: 'too late' });
    await flush();
    expect(s.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'retried' });
    expect(s.reports.calls).toHaveLength(1); // the late result is never written
  });

  it('on timeout, a handler that settles while the report is in flight ends the step with the report', async () => {
    const s = start();
    s.clock.increment(5_000);
    s.run().settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.value()).toEqual({ active: 'reporting' });
    await s.answer('dead_lettered');
    expect(s.value()).toBe('dead_lettered');
    expect(s.reports.calls).toHaveLength(1);
  });

  it('retries a report that failed with a database error until it commits', async () => {
    const s = start();
    s.run().settle({ type: 'handler.succeeded', result: 7 });
    s.reports.last().reject(new Error('SQLITE_BUSY'));
    await flush();
    expect(s.value()).toEqual({ active: 'retryingReport' });
    s.clock.increment(499);
    expect(s.reports.calls).toHaveLength(1);
    s.clock.increment(1);
    expect(s.reports.calls).toHaveLength(2);
    expect(s.reports.last().input).toEqual(s.reports.calls[0]!.input);
    await s.answer('completed');
    expect(s.value()).toBe('completed');
    expect(s.actor.getSnapshot().context.reportFailures).toBe(1);
  });

  it('abort with release (drain): aborts the handler, reports a release, and ends without waiting for the handler', async () => {
    const s = start();
    s.actor.send({ type: 'step.abort', mode: 'release' });
    expect(s.run().aborts).toEqual(['drain']);
    expect(s.reports.last().input.report).toEqual({ kind: 'release' });
    await s.answer('released');
    expect(s.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'released' });
    expect(s.run().stopped).toBe(true);
  });

  it('abort when fenced: aborts the handler, writes nothing, and ends stale once the handler settles', async () => {
    const s = start();
    s.actor.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.run().aborts).toEqual(['fenced']);
    expect(s.value()).toEqual({ active: 'settling' });
    s.clock.increment(10_000); // no timeout report either
    expect(s.reports.calls).toHaveLength(0);
    s.run().settle({ type: 'handler.failed', error: 'aborted', retryable: true });
    await flush();
    expect(s.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'stale' });
    expect(s.reports.calls).toHaveLength(0);
  });

  it('abort lets a write in flight finish, and stops retrying a failed one', async () => {
    const inFlight = start();
    inFlight.run().settle({ type: 'handler.succeeded', result: 1 });
    inFlight.actor.send({ type: 'step.abort', mode: 'fenced' });
    await inFlight.answer('completed');
    expect(inFlight.value()).toBe('completed');

    const retrying = start();
    retrying.run().settle({ type: 'handler.succeeded', result: 1 });
    retrying.reports.last().reject(new Error('disk full'));
    await flush();
    retrying.actor.send({ type: 'step.abort', mode: 'release' });
    expect(retrying.value()).toBe('stale');
    retrying.clock.increment(10_000);
    expect(retrying.reports.calls).toHaveLength(1);
  });

  it('a drain abort ends a step that is only waiting for its timed-out handler', async () => {
    const s = start();
    s.clock.increment(5_000);
    await s.answer('retried');
    s.actor.send({ type: 'step.abort', mode: 'fenced' });
    expect(s.value()).toEqual({ active: 'settling' });
    s.actor.send({ type: 'step.abort', mode: 'release' });
    expect(s.actor.getSnapshot().output).toEqual({ stepId: 'step_1', outcome: 'retried' });
  });

  it('a crashed handler actor counts as a retryable failure', async () => {
    const crashing = fromCallback<HandlerAbortEvent, ExecuteStepInput>(() => {
      throw new Error('registry lookup failed');
    });
    const s = start({ executeStep: crashing });
    await flush();
    expect(s.reports.last().input.report).toEqual({
      kind: 'fail', error: 'handler crashed: registry lookup failed', retryable: true, reason: 'error',
    });
    await s.answer('retried');
    expect(s.value()).toBe('retried');
    expect(s.errors).toEqual([]);
  });
});
