/**
 * Running one claimed step's work: THE place where "run the step's work and get its outcome"
 * happens, through the step type's lifecycle (src/steps/run-lifecycle.ts: its own, else the default
 * one that calls its handler, without an actor). It builds the handler's `StepContext`, runs the
 * attempt, classifies a failure (NonRetryableError, `retryable(err)`) and answers with exactly one
 * settled event. It must
 * not write to the store (report-step.ts does), nor decide when to abort (the slot machine does), nor
 * serialise the result (the store does, once, and refuses what it cannot hold).
 *
 * Args are passed as stored: they were parsed by the type's schema at submit, and parsing again could
 * fail on a schema whose transform is not idempotent (e.g. `z.string().transform(s => s.length)`).
 *
 * Per-step costs kept off the hot path: `ctx.signal`'s AbortController and `ctx.log`'s child logger
 * are made on first use (a no-op handler touches neither), and an abort builds its `StepAbortedError`
 * only when a handler is still running to hear it.
 */
import type { AnyActorRef } from 'xstate';
import type { ClaimedStep, HandlerAbortReason, HandlerSettledEvent } from '../../machines/index.js';
import type { Logger } from '../log.js';
import { serialiseResult } from '../store/json.js';
import type { Json } from '../store/store.js';
import { isNonRetryable, type LifecycleClock } from '../steps/lifecycle.js';
import { retryClassifier, runStepLifecycle, type LifecycleObservation } from '../steps/run-lifecycle.js';
import type { StepContext, StepDefinition } from '../steps/registry.js';

/** What running a step's work needs besides the step: lifecycles' clock and observer. */
export interface ExecuteStepDeps {
  /** The clock lifecycles get as `input.clock`: the actor system's (simulated in tests); wall time by default. */
  readonly clock?: LifecycleClock;
  /** Told what each lifecycle run answered (contract checks in tests). */
  readonly observeLifecycle?: (observation: LifecycleObservation) => void;
  /** Reads the results of a step's workflow parents (the store's `stepParentResults`); asked only for steps that have parents. */
  readonly parentResults?: (stepId: string) => Promise<{ [parentStepId: string]: Json | null }>;
}

const NO_PARENTS: Readonly<Record<string, Json | null>> = Object.freeze({});

const WALL_CLOCK: LifecycleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

/** A completed attempt's value as the slot reports it: the store serialises it, once, and refuses what it cannot hold. */
const succeeded = (result: unknown): HandlerSettledEvent => ({ type: 'handler.succeeded', result });

/** Why a step's work is aborted: the slot's reasons, its actor stopping, or an operator's cancel. */
export type StepAbortReason = HandlerAbortReason | 'stopped' | 'cancelled';

/** The `reason` of an aborted `ctx.signal`: an Error, so `throw signal.reason` gives a useful stack and message. */
export class StepAbortedError extends Error {
  constructor(readonly reason: StepAbortReason) {
    super(`step aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

/** The running work of one step: its outcome, and the means to abort it. */
export interface StepWork {
  /** Settles exactly once, never rejects, always asynchronously. */
  readonly settled: Promise<HandlerSettledEvent>;
  /** Aborts `ctx.signal` with a `StepAbortedError` if the work is still running; later calls do nothing. */
  abort(reason: StepAbortReason): void;
}

/** What a handler's `ctx.progress` and `ctx.extend` do: the step's actor supplies them (step-actor.ts). */
export interface StepControls {
  progress(value: Json): void;
  extend(ms: number): void;
}

/** For work run outside a pod (contract checks): progress is dropped, extend only validated. */
const NO_CONTROLS: StepControls = { progress: () => undefined, extend: () => undefined };

/** A handler's `StepContext` whose signal and child logger exist only once the handler asks for them. */
class LazyStepContext implements StepContext {
  readonly stepId: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  parents: Readonly<Record<string, Json | null>> = NO_PARENTS;
  #controller: AbortController | undefined;
  #abortedWith: StepAbortedError | undefined;
  #log: Logger | undefined;

  constructor(
    readonly step: ClaimedStep,
    readonly podId: string,
    private readonly logger: Logger,
    private readonly controls: StepControls,
  ) {
    this.stepId = step.stepId;
    this.attempt = step.attempt;
    this.idempotencyKey = step.idempotencyKey ?? step.stepId;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortedWith !== undefined) this.#controller.abort(this.#abortedWith);
    }
    return this.#controller.signal;
  }

  get log(): Logger {
    this.#log ??= this.logger.child({ step_id: this.step.stepId, attempt: this.step.attempt, step_type: this.step.type, pod_id: this.podId });
    return this.#log;
  }

  progress(value: Json): void {
    this.controls.progress(value);
  }

  extend(ms: number): void {
    this.controls.extend(ms);
  }

  abort(reason: StepAbortReason): void {
    if (this.#abortedWith !== undefined) return;
    this.#abortedWith = new StepAbortedError(reason);
    this.#controller?.abort(this.#abortedWith);
  }
}

/**
 * Starts the work of `step` (claimed by `podId`) with `definition`, or fails it retryably when this
 * pod has no such type registered. A custom lifecycle runs as a child of `parent` (the step's actor).
 */
export function startStepWork(
  definition: StepDefinition | undefined,
  step: ClaimedStep,
  podId: string,
  logger: Logger,
  parent?: AnyActorRef,
  deps: ExecuteStepDeps = {},
  controls: StepControls = NO_CONTROLS,
): StepWork {
  const ctx = new LazyStepContext(step, podId, logger, controls);
  let running = true;
  const settled: Promise<HandlerSettledEvent> = (
    definition === undefined
      ? Promise.resolve<HandlerSettledEvent>({ type: 'handler.failed', error: `step type '${step.type}' is not registered on pod ${podId}`, retryable: true })
      : withParents(step, ctx, deps).then((failed) => failed ?? runAttempt(definition, step.args, ctx, parent, deps))
  ).then((event) => {
    running = false;
    if (event.type === 'handler.failed') ctx.log.warn({ event: event.type, error: event.error, retryable: event.retryable }, 'step handler failed');
    return event;
  });
  return {
    settled,
    abort: (reason) => {
      if (running) ctx.abort(reason);
    },
  };
}

/**
 * Loads the parents' results into `ctx.parents` before the handler starts (one read, only for a
 * step that has parents); a failed read fails the attempt retryably, since the database may be back
 * by the next one.
 */
async function withParents(step: ClaimedStep, ctx: LazyStepContext, deps: ExecuteStepDeps): Promise<HandlerSettledEvent | undefined> {
  if (step.dependsOn === undefined || step.dependsOn.length === 0 || deps.parentResults === undefined) return undefined;
  try {
    ctx.parents = Object.freeze(await deps.parentResults(step.stepId));
    return undefined;
  } catch (err) {
    return {
      type: 'handler.failed',
      error: `could not read the results of parent steps: ${err instanceof Error ? err.message : String(err)}`,
      retryable: true,
    };
  }
}

/** One attempt through the step type's lifecycle (the default one unless it brings its own). */
function runAttempt(
  definition: StepDefinition,
  args: unknown,
  ctx: StepContext,
  parent: AnyActorRef | undefined,
  deps: ExecuteStepDeps,
): Promise<HandlerSettledEvent> {
  return runStepLifecycle({
    definition,
    args,
    ctx,
    clock: deps.clock ?? WALL_CLOCK,
    toResult: succeeded,
    // A broken classifier must not turn a transient failure into a dead letter.
    retryable: retryClassifier(definition, isNonRetryable, (err) => ctx.log.warn({ err }, "the step type's retryable(err) threw; retrying the step")),
    parent,
    observe: deps.observeLifecycle,
  });
}

/**
 * What the store makes of a completed attempt's value, decided without a store: succeeded, or failed
 * for good when the value cannot be stored (not JSON, or over 256 KiB). For standalone lifecycle runs
 * (the `fleet-q/testing` contract checks); a pod leaves this to the store's one serialisation.
 */
export function resultEvent(result: unknown): HandlerSettledEvent {
  try {
    serialiseResult(result as Json);
  } catch (err) {
    return { type: 'handler.failed', error: err instanceof Error ? err.message : String(err), retryable: false };
  }
  return { type: 'handler.succeeded', result };
}
