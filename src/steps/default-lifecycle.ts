/**
 * The default step lifecycle, written with the public lifecycle API (lifecycle.ts): run the step
 * type's handler once; its value completes the step, an error is a retry, or a dead letter when the
 * step type says it cannot be retried. It owns that mapping and nothing else; the runtime checks its
 * answer like any lifecycle's.
 *
 * The runtime runs `defaultOutcome` directly instead of starting an actor for it (run-lifecycle.ts):
 * same function, same verdict, but no actor per step (a promise actor costs ~44 µs of the ~60 µs
 * per-step budget).
 */
import { fromPromise, type PromiseActorLogic } from 'xstate';
import type { LifecycleInput, LifecycleOutput, RetryClassifier } from './lifecycle.js';

/** Runs the handler and maps how it settled to the lifecycle's output. */
export async function defaultOutcome(input: Pick<LifecycleInput, 'runHandler'>, retryable: RetryClassifier): Promise<LifecycleOutput> {
  try {
    return { outcome: 'completed', result: await input.runHandler() };
  } catch (error) {
    return retryable(error) ? { outcome: 'retry', error } : { outcome: 'dead_letter', error };
  }
}

/** The default lifecycle as actor logic, for a step type whose errors `retryable` classifies. */
export function defaultLifecycle(retryable: RetryClassifier): PromiseActorLogic<LifecycleOutput, LifecycleInput> {
  return fromPromise<LifecycleOutput, LifecycleInput>(({ input }) => defaultOutcome(input, retryable));
}
