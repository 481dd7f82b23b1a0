/**
 * The built-in step types every pod registers: `echo`, `sleep` and `fail`. They exist for smoke
 * tests, demos and the end-to-end suite; they touch nothing outside their handler. Must not hold
 * registry or loading logic (registry.ts, load.ts).
 */
import { z } from 'zod';
import { defineStep, type AnyStepDefinition } from './registry.js';

/** Returns its args as the result. */
export const echoStep = defineStep({
  type: 'echo',
  args: z.json(),
  handler: (args) => args,
});

/** Waits `ms` milliseconds, ending early (with an error) when the attempt's signal aborts. */
export const sleepStep = defineStep({
  type: 'sleep',
  args: z.object({ ms: z.number().int().min(0).max(86_400_000) }),
  handler: ({ ms }, ctx) =>
    new Promise<{ slept_ms: number }>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(abortReason(ctx.signal));
      const timer = setTimeout(() => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve({ slept_ms: ms });
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(ctx.signal));
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    }),
});

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Fails its first `times` attempts, then succeeds; without `times` it always fails. */
export const failStep = defineStep({
  type: 'fail',
  args: z.object({ times: z.number().int().min(0).optional(), message: z.string().max(1000).optional() }).strict(),
  handler: ({ times, message }, ctx) => {
    if (times === undefined || ctx.attempt <= times) {
      throw new Error(message ?? `fail step: attempt ${ctx.attempt}${times === undefined ? '' : ` of ${times} failing`}`);
    }
    return { succeeded_on_attempt: ctx.attempt };
  },
});

export const BUILTIN_STEPS: readonly AnyStepDefinition[] = [echoStep, sleepStep, failStep];
