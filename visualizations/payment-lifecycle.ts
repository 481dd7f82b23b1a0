/**
 * An example custom step lifecycle (README "Custom step lifecycles"; diagram in
 * visualizations/example-payment-lifecycle.*): a payment step that validates its args, calls out (the
 * step's handler), then waits for a confirmation, and stops at abort. Two broken variants are what the
 * `fleet-q/testing` kit must catch: one reports completion after its abort (L3), one dead-letters
 * before its retries are spent (L4). Definitions only; the tests import them.
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import { defineStep, NonRetryableError } from '../src/index.js';
import type { LifecycleInput, LifecycleOutput } from '../src/testing/index.js';

type PaymentArgs = { amount: number };
type Input = LifecycleInput<PaymentArgs>;

interface Ctx {
  readonly input: Input;
  readonly receipt: unknown;
  readonly output: LifecycleOutput | null;
}

/** The variants: `correct`, or the broken rule's id. */
export type Variant = 'correct' | 'completes_after_abort' | 'early_dead_letter';

/** The payment lifecycle, correct or broken as `variant` says. */
export function paymentLifecycle(variant: Variant = 'correct') {
  return setup({
    types: { context: {} as Ctx, input: {} as Input, output: {} as LifecycleOutput, events: {} as { type: 'ABORT' } },
    actors: {
      callOut: fromPromise<unknown, Input>(({ input }) => input.runHandler()),
      // Turns the abort signal into an event: a lifecycle must stop at abort.
      watchAbort: fromCallback<{ type: 'ABORT' }, Input>(({ input, sendBack }) => {
        const onAbort = () => sendBack({ type: 'ABORT' });
        if (input.signal.aborted) queueMicrotask(onAbort);
        else input.signal.addEventListener('abort', onAbort, { once: true });
        return () => input.signal.removeEventListener('abort', onAbort);
      }),
    },
    guards: {
      validAmount: ({ context }) => context.input.args.amount > 0,
      nonRetryable: (_, params: { error: unknown }) =>
        variant === 'early_dead_letter' || params.error instanceof NonRetryableError || (params.error as Error)?.name === 'NonRetryableError',
    },
    delays: { confirmationDelay: 200 },
  }).createMachine({
    id: 'payment',
    context: ({ input }) => ({ input, receipt: null, output: null }),
    invoke: { src: 'watchAbort', input: ({ context }) => context.input },
    on: {
      ABORT:
        variant === 'completes_after_abort'
          ? { target: '.confirmed' } // the bug: treats the abort as a confirmation
          : { target: '.aborted' },
    },
    initial: 'validating',
    states: {
      validating: { always: [{ guard: 'validAmount', target: 'callingOut' }, { target: 'rejected' }] },
      callingOut: {
        invoke: {
          src: 'callOut',
          input: ({ context }) => context.input,
          onDone: { target: 'confirming', actions: assign({ receipt: ({ event }) => event.output }) },
          onError: [
            {
              guard: { type: 'nonRetryable', params: ({ event }) => ({ error: event.error }) },
              target: 'given_up',
              actions: assign({ output: ({ event }) => ({ outcome: 'dead_letter', error: event.error }) as const }),
            },
            { target: 'failed', actions: assign({ output: ({ event }) => ({ outcome: 'retry', error: event.error }) as const }) },
          ],
        },
      },
      confirming: { after: { confirmationDelay: 'confirmed' } },
      confirmed: { type: 'final', entry: assign({ output: ({ context }) => ({ outcome: 'completed', result: context.receipt ?? null }) as const }) },
      failed: { type: 'final' },
      given_up: { type: 'final' },
      rejected: {
        type: 'final',
        entry: assign({
          output: ({ context }) => ({ outcome: 'dead_letter', error: new NonRetryableError(`invalid amount ${context.input.args.amount}`) }) as const,
        }),
      },
      aborted: { type: 'final', entry: assign({ output: { outcome: 'retry', error: new Error('aborted') } as const }) },
    },
    output: ({ context }) => context.output ?? { outcome: 'retry', error: new Error('no outcome') },
  });
}

/** The payment step type with the `variant` lifecycle. */
export function paymentStep(variant: Variant = 'correct', type = 'payment.charge') {
  return defineStep({
    type,
    args: z.object({ amount: z.number() }),
    maxRetries: 2,
    timeoutMs: 2_000,
    lifecycle: paymentLifecycle(variant),
    handler: async (args, ctx) => ({ charged: args.amount, key: ctx.idempotencyKey }),
  });
}
