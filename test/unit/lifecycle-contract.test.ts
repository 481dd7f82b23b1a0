/**
 * The lifecycle contract as the runtime applies it (src/steps/lifecycle.ts, run-lifecycle.ts): which
 * outputs are accepted and how each is recorded; a throwing lifecycle; the stop at abort, after which
 * the attempt settles only once the handler calls it made have settled (the slot stays busy); and the
 * default lifecycle giving the same verdicts through its actor as through the runtime's fast path.
 */
import pino from 'pino';
import { createActor, fromPromise, setup, SimulatedClock, toPromise } from 'xstate';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.js';
import { resultEvent } from '../../src/pod/execute-step.js';
import { defaultLifecycle } from '../../src/steps/default-lifecycle.js';
import { isNonRetryable, verdictOf, type LifecycleInput } from '../../src/steps/lifecycle.js';
import { retryClassifier, runStepLifecycle, type LifecycleObservation } from '../../src/steps/run-lifecycle.js';
import { defineStep, type StepDefinition } from '../../src/steps/registry.js';

const retryable = (err: unknown) => !isNonRetryable(err);

describe('verdictOf', () => {
  it('accepts exactly the three outcomes', () => {
    expect(verdictOf({ outcome: 'completed', result: { a: 1 } }, retryable, resultEvent)).toEqual({ event: { type: 'handler.succeeded', result: { a: 1 } } });
    expect(verdictOf({ outcome: 'retry', error: new Error('x') }, retryable, resultEvent)).toEqual({
      event: { type: 'handler.failed', error: 'x', retryable: true },
    });
    expect(verdictOf({ outcome: 'dead_letter', error: new NonRetryableError('no') }, retryable, resultEvent)).toEqual({
      event: { type: 'handler.failed', error: 'no', retryable: false },
    });
  });

  it.each([
    undefined,
    null,
    'completed',
    { outcome: 'done' },
    { outcome: 'completed', result: 1, extra: true },
    { outcome: 'retry' },
    { outcome: 'dead_letter', error: null },
  ])('anything else (%j) is a retryable failure with the broken rule', (output) => {
    const v = verdictOf(output, retryable, resultEvent);
    expect(v.event).toMatchObject({ type: 'handler.failed', retryable: true, error: expect.stringMatching(/^lifecycle contract broken: /) });
    expect(v.violation).toBeDefined();
  });

  it('a dead letter with a retryable error is recorded as retryable (the store decides when retries are spent)', () => {
    const v = verdictOf({ outcome: 'dead_letter', error: new Error('flaky') }, retryable, resultEvent);
    expect(v.event).toEqual({ type: 'handler.failed', error: 'flaky', retryable: true });
  });

  it('a completed result that cannot be stored fails for good, as a handler result would', () => {
    expect(verdictOf({ outcome: 'completed', result: 10n }, retryable, resultEvent).event).toMatchObject({ type: 'handler.failed', retryable: false });
  });
});

function ctx(signal: AbortSignal) {
  return {
    stepId: 'step_1',
    attempt: 1,
    idempotencyKey: 'k',
    signal,
    log: pino({ level: 'silent' }),
    progress: () => undefined,
    extend: () => undefined,
    parents: {},
  };
}

function step(lifecycle: StepDefinition['lifecycle'], handler: StepDefinition['handler'] = async () => 'ok'): StepDefinition {
  return defineStep({ type: 'contract.unit', args: z.unknown(), handler, ...(lifecycle === undefined ? {} : { lifecycle }) }) as StepDefinition;
}

function run(definition: StepDefinition, signal: AbortSignal, observe?: (o: LifecycleObservation) => void) {
  return runStepLifecycle({
    definition,
    args: {},
    ctx: ctx(signal),
    clock: new SimulatedClock(),
    toResult: resultEvent,
    retryable: retryClassifier(definition, isNonRetryable),
    ...(observe === undefined ? {} : { observe }),
  });
}

describe('runStepLifecycle', () => {
  it('a lifecycle that throws is a retryable failure', async () => {
    const throwing = setup({}).createMachine({
      id: 't',
      entry: () => {
        throw new Error('boom');
      },
    });
    const observed: LifecycleObservation[] = [];
    await expect(run(step(throwing), new AbortController().signal, (o) => observed.push(o))).resolves.toMatchObject({
      type: 'handler.failed',
      retryable: true,
      error: expect.stringContaining('boom'),
    });
    expect(observed[0]).toMatchObject({ outcome: null, violation: expect.stringContaining('boom') });
  });

  it('stops the lifecycle at abort, ignores what it would answer, and settles once its handler call settles', async () => {
    let release: () => void = () => undefined;
    const handlerDone = new Promise<void>((r) => (release = r));
    const ignoresAbort = setup({ actors: { call: fromPromise<unknown, LifecycleInput>(({ input }) => input.runHandler()) } }).createMachine({
      id: 'ignoring',
      initial: 'calling',
      context: ({ input }: { input: LifecycleInput }) => ({ input }),
      states: {
        calling: { invoke: { src: 'call', input: ({ context }) => context.input, onDone: 'done' } },
        done: { type: 'final' },
      },
      output: () => ({ outcome: 'completed', result: 'late' }),
    });
    const controller = new AbortController();
    let settled = false;
    const result = run(
      step(ignoresAbort, async () => handlerDone),
      controller.signal,
    ).then((e) => ((settled = true), e));
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('step aborted: timeout'));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false); // the handler call still runs: the slot stays busy
    release();
    await expect(result).resolves.toEqual({ type: 'handler.failed', error: 'step aborted: timeout', retryable: true });
  });

  it('the default lifecycle as an actor answers what the fast path records', async () => {
    const cases: StepDefinition['handler'][] = [
      async () => ({ v: 1 }),
      async () => {
        throw new Error('e');
      },
      async () => {
        throw new NonRetryableError('n');
      },
    ];
    for (const handler of cases) {
      const definition = step(undefined, handler);
      const classify = retryClassifier(definition, isNonRetryable);
      const fast = await run(definition, new AbortController().signal);
      const input = { runHandler: () => Promise.resolve().then(() => handler({}, ctx(new AbortController().signal))) } as LifecycleInput;
      const output = await toPromise(createActor(defaultLifecycle(classify), { input }).start());
      expect(verdictOf(output, classify, resultEvent).event).toEqual(fast);
    }
  });
});
