/**
 * Runs one attempt of a step through its lifecycle (lifecycle.ts) and answers with the event the step
 * machine expects: the verdict on the lifecycle's output. It owns the lifecycle actor's life: started
 * as a child of the calling actor (so it shares the pod's actor system, clock and inspector), stopped at
 * abort, and, after an abort, the wait for handler calls still running (the slot stays busy until they
 * settle, DESIGN §3 Timeouts). It must not write to a store (the runtime's fenced write does) nor decide
 * when to abort (the step machine does).
 *
 * A step type without `lifecycle` takes the fast path: `defaultOutcome` called directly, with the same
 * verdict, and no actor (see default-lifecycle.ts).
 */
import { createActor, type AnyActorRef } from 'xstate';
import type { HandlerSettledEvent } from '../../machines/index.js';
import { defaultOutcome } from './default-lifecycle.js';
import { crashVerdict, verdictOf, type LifecycleClock, type LifecycleInput, type LifecycleVerdict, type RetryClassifier } from './lifecycle.js';
import type { StepContext, StepDefinition } from './registry.js';

/** What one lifecycle run did, for observers (`fleet-q/testing` checks the contract with it). */
export interface LifecycleObservation {
  readonly stepId: string;
  readonly attempt: number;
  /** The outcome the lifecycle answered, or null when it crashed or never answered. */
  readonly outcome: string | null;
  /** Why its answer broke the contract, if it did. */
  readonly violation?: string;
  /** It answered `dead_letter` with an error the step type would retry (a violation while retries are left). */
  readonly retryableDeadLetter: boolean;
  /** It answered after `signal` aborted (the answer was ignored). */
  readonly afterAbort: boolean;
  /** The step type brings its own lifecycle (false: the default one ran). */
  readonly custom: boolean;
}

export interface RunLifecycleParams {
  readonly definition: StepDefinition;
  readonly args: unknown;
  readonly ctx: StepContext;
  readonly clock: LifecycleClock;
  readonly retryable: RetryClassifier;
  /** Turns a completed result into the event (JSON and size checks). */
  readonly toResult: (result: unknown) => HandlerSettledEvent;
  /** The actor the lifecycle runs under (the step's handler actor); none for a standalone run. */
  readonly parent?: AnyActorRef;
  /** Keep the lifecycle running after an abort and report what it does (contract checks only). */
  readonly keepAfterAbort?: boolean;
  readonly observe?: (observation: LifecycleObservation) => void;
}

/** Runs the attempt; always resolves, never before the lifecycle (or, after an abort, every handler call) has settled. */
export function runStepLifecycle(p: RunLifecycleParams): Promise<HandlerSettledEvent> {
  const { definition, ctx } = p;
  if (definition.lifecycle === undefined) {
    // The one handler call is the attempt itself, so nothing needs tracking; a synchronous throw
    // lands in defaultOutcome's try like a rejection. This path runs for nearly every step: it
    // allocates no tracking set and no closures beyond the handler call.
    const call = (): Promise<unknown> => Promise.resolve(definition.handler(p.args, ctx));
    return defaultOutcome({ runHandler: call }, p.retryable).then((output) => {
      const verdict = verdictOf(output, p.retryable, p.toResult);
      // Reading `ctx.signal` makes the step's AbortController: only an observer needs `aborted` here.
      if (p.observe !== undefined) observeRun(p, output.outcome, verdict, ctx.signal.aborted);
      return verdict.event;
    });
  }

  const running = new Set<Promise<unknown>>();
  const runHandler = (): Promise<unknown> => {
    const call = new Promise<unknown>((resolve) => resolve(definition.handler(p.args, ctx)));
    const tracked = call.then(
      () => undefined,
      () => undefined,
    );
    running.add(tracked);
    void tracked.then(() => running.delete(tracked));
    return call;
  };
  const observe = (outcome: string | null, verdict: LifecycleVerdict | null, afterAbort: boolean): void => observeRun(p, outcome, verdict, afterAbort);

  const input: LifecycleInput = {
    args: p.args,
    attempt: ctx.attempt,
    idempotencyKey: ctx.idempotencyKey,
    stepId: ctx.stepId,
    signal: ctx.signal,
    clock: p.clock,
    log: ctx.log,
    parents: ctx.parents,
    progress: (value) => ctx.progress(value),
    extend: (ms) => ctx.extend(ms),
    runHandler,
  };
  return new Promise<HandlerSettledEvent>((resolve) => {
    let answered = false;
    const answer = (event: HandlerSettledEvent): void => {
      if (answered) return;
      answered = true;
      resolve(event);
    };
    // Under a parent it joins the pod's actor system (its clock, its inspector); standalone it gets `clock`.
    const actor = createActor(definition.lifecycle!, { input, id: 'lifecycle', ...(p.parent === undefined ? { clock: p.clock } : { parent: p.parent }) });
    const settleAfterAbort = (): void => {
      const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : 'step aborted';
      const event: HandlerSettledEvent = { type: 'handler.failed', error: reason, retryable: true };
      void Promise.all([...running]).then(() => answer(event));
    };
    actor.subscribe({
      complete: () => {
        const snapshot = actor.getSnapshot() as { status: string; output?: unknown };
        if (snapshot.status !== 'done') return; // stopped at abort: there is no answer
        const output = snapshot.output;
        const afterAbort = ctx.signal.aborted;
        const verdict = verdictOf(output, p.retryable, p.toResult);
        const outcome = typeof output === 'object' && output !== null ? String((output as { outcome?: unknown }).outcome) : null;
        observe(outcome, verdict, afterAbort);
        if (afterAbort) settleAfterAbort();
        else answer(verdict.event);
      },
      error: (err) => {
        const verdict = crashVerdict(err);
        observe(null, verdict, ctx.signal.aborted);
        if (ctx.signal.aborted) settleAfterAbort();
        else answer(verdict.event);
      },
    });
    actor.start();
    const onAbort = (): void => {
      if (!p.keepAfterAbort) {
        // A child cannot be stopped with stop(); `_stop` is what stopChild does for invoked actors.
        (actor as unknown as { _stop(): void })._stop();
        settleAfterAbort();
      }
    };
    // Registered after start, so the lifecycle's own abort listeners run first and a lifecycle that
    // answers synchronously at abort is seen (and its answer ignored).
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Tells `p.observe`, if any, what one lifecycle run answered. */
function observeRun(p: RunLifecycleParams, outcome: string | null, verdict: LifecycleVerdict | null, afterAbort: boolean): void {
  if (p.observe === undefined) return;
  const retryableDeadLetter = outcome === 'dead_letter' && verdict !== null && verdict.event.type === 'handler.failed' && verdict.event.retryable;
  const violation = verdict?.violation ?? (afterAbort && outcome === 'completed' ? 'answered completed after its abort' : undefined);
  p.observe({
    stepId: p.ctx.stepId,
    attempt: p.ctx.attempt,
    outcome,
    retryableDeadLetter,
    afterAbort,
    custom: p.definition.lifecycle !== undefined,
    ...(violation === undefined ? {} : { violation }),
  });
}

/** The classifier of a step type: `NonRetryableError` never retries; `retryable(err)` decides the rest (a throwing classifier retries). */
export function retryClassifier(
  definition: StepDefinition,
  isNonRetryable: (err: unknown) => boolean,
  onClassifierError?: (err: unknown) => void,
): RetryClassifier {
  return (err) => {
    if (isNonRetryable(err)) return false;
    if (definition.retryable === undefined) return true;
    try {
      return Boolean(definition.retryable(err) ?? true);
    } catch (classifierError) {
      onClassifierError?.(classifierError);
      return true;
    }
  };
}
