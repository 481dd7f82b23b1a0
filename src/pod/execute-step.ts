/**
 * The `executeStep` effect (a callback actor, see machines/actors.ts): runs one claimed step's attempt
 * through its lifecycle (src/steps/run-lifecycle.ts: the step type's own, else the default one that
 * calls its handler) with its `StepContext`, aborts `ctx.signal` when the step machine says so (timeout, drain, fencing)
 * or when the actor is stopped, and sends back exactly one `handler.succeeded | handler.failed`.
 * It owns handler invocation, error classification and result normalisation; it must not write to
 * the store (reportStep does) nor decide when to abort (the step machine does).
 *
 * Args are passed as stored: they were parsed by the type's schema at submit, and parsing again could
 * fail on a schema whose transform is not idempotent (e.g. `z.string().transform(s => s.length)`).
 */
import { fromCallback, type AnyActorRef } from 'xstate';
import { describeError, type ExecuteStepInput, type HandlerAbortEvent, type HandlerSettledEvent } from '../../machines/index.js';
import type { Logger } from '../log.js';
import { isNonRetryable, type LifecycleClock } from '../steps/lifecycle.js';
import { retryClassifier, runStepLifecycle, type LifecycleObservation } from '../steps/run-lifecycle.js';
import type { StepContext, StepDefinition, StepRegistry } from '../steps/registry.js';
import { MAX_RESULT_BYTES } from '../store/json.js';

/** The `reason` of an aborted `ctx.signal`: an Error, so `throw signal.reason` gives a useful stack and message. */
export class StepAbortedError extends Error {
  constructor(readonly reason: 'timeout' | 'drain' | 'fenced' | 'stopped') {
    super(`step aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

/** What the handler actor needs: the step types, and the logger each attempt's `ctx.log` derives from. */
export interface ExecuteStepDeps {
  readonly registry: StepRegistry;
  readonly logger: Logger;
  /** The clock lifecycles get as `input.clock`: the actor system's (simulated in tests); wall time by default. */
  readonly clock?: LifecycleClock;
  /** Told what each lifecycle run answered (contract checks in tests). */
  readonly observeLifecycle?: (observation: LifecycleObservation) => void;
}

const WALL_CLOCK: LifecycleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

/** The callback actor logic the step machine invokes as `executeStep`. */
export function executeStepLogic(deps: ExecuteStepDeps) {
  return fromCallback<HandlerAbortEvent, ExecuteStepInput>(({ input, sendBack, receive, self }) => {
    const { step, podId } = input;
    const controller = new AbortController();
    const abort = (reason: StepAbortedError['reason']): void => {
      if (!controller.signal.aborted) controller.abort(new StepAbortedError(reason));
    };
    // Only handler.abort: a lifecycle child's done/error events reach this actor too.
    receive((event) => event.type === 'handler.abort' && abort(event.reason));

    const log = deps.logger.child({ step_id: step.stepId, attempt: step.attempt, step_type: step.type, pod_id: podId });
    const definition = deps.registry.get(step.type);
    const ctx: StepContext = {
      stepId: step.stepId,
      attempt: step.attempt,
      idempotencyKey: step.idempotencyKey ?? step.stepId,
      signal: controller.signal,
      log,
    };
    // Always settles asynchronously: sending to the parent while it is still starting this actor is not allowed.
    const outcome: Promise<HandlerSettledEvent> =
      definition === undefined
        ? Promise.resolve({ type: 'handler.failed', error: `step type '${step.type}' is not registered on pod ${podId}`, retryable: true })
        : runHandler(definition, step.args, ctx, self, deps);
    void outcome.then((event) => {
      if (event.type === 'handler.failed') log.warn({ event: event.type, error: event.error, retryable: event.retryable }, 'step handler failed');
      else log.debug({ event: event.type }, 'step handler succeeded');
      sendBack(event);
    });
    // Stopped (pod stop, or the step machine finished while the handler still runs): the handler learns it.
    return () => abort('stopped');
  });
}

/** One attempt through the step type's lifecycle (the default one unless it brings its own). */
function runHandler(definition: StepDefinition, args: unknown, ctx: StepContext, parent: AnyActorRef, deps: ExecuteStepDeps): Promise<HandlerSettledEvent> {
  return runStepLifecycle({
    definition, args, ctx, parent, clock: deps.clock ?? WALL_CLOCK, toResult: resultEvent,
    // A broken classifier must not turn a transient failure into a dead letter.
    retryable: retryClassifier(definition, isNonRetryable, (err) => ctx.log.warn({ err }, 'the step type\'s retryable(err) threw; retrying the step')),
    ...(deps.observeLifecycle === undefined ? {} : { observe: deps.observeLifecycle }),
  });
}

/**
 * The handler's value as stored: plain JSON (`undefined` → null, a `Date` → its ISO string, as
 * `JSON.stringify` does). A value that cannot be stored fails the attempt for good: the same handler
 * would produce it again on every retry.
 */
export function resultEvent(result: unknown): HandlerSettledEvent {
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch (err) {
    return { type: 'handler.failed', error: `step result is not JSON-serialisable: ${describeError(err)}`, retryable: false };
  }
  text ??= 'null';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RESULT_BYTES) {
    return {
      type: 'handler.failed',
      error: `step result is ${bytes} bytes serialised; the limit is ${MAX_RESULT_BYTES} (256 KiB): store large outputs elsewhere and return a reference`,
      retryable: false,
    };
  }
  return { type: 'handler.succeeded', result: JSON.parse(text) as unknown };
}
