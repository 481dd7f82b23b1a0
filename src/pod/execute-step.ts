/**
 * Running one claimed step's work: THE place where "run the step's work and get its outcome"
 * happens (the registered handler today). It builds the handler's `StepContext`, runs it, classifies
 * a failure (NonRetryableError, `retryable(err)`) and answers with exactly one settled event. It must
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
import { describeError, type ClaimedStep, type HandlerAbortReason, type HandlerSettledEvent } from '../../machines/index.js';
import { NonRetryableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StepContext, StepDefinition } from '../steps/registry.js';

/** The `reason` of an aborted `ctx.signal`: an Error, so `throw signal.reason` gives a useful stack and message. */
export class StepAbortedError extends Error {
  constructor(readonly reason: HandlerAbortReason | 'stopped') {
    super(`step aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

/** The running work of one step: its outcome, and the means to abort it. */
export interface StepWork {
  /** Settles exactly once, never rejects, always asynchronously. */
  readonly settled: Promise<HandlerSettledEvent>;
  /** Aborts `ctx.signal` with a `StepAbortedError` if the work is still running; later calls do nothing. */
  abort(reason: HandlerAbortReason | 'stopped'): void;
}

/** A handler's `StepContext` whose signal and child logger exist only once the handler asks for them. */
class LazyStepContext implements StepContext {
  readonly stepId: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  #controller: AbortController | undefined;
  #abortedWith: StepAbortedError | undefined;
  #log: Logger | undefined;

  constructor(
    readonly step: ClaimedStep,
    readonly podId: string,
    private readonly logger: Logger,
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

  abort(reason: HandlerAbortReason | 'stopped'): void {
    if (this.#abortedWith !== undefined) return;
    this.#abortedWith = new StepAbortedError(reason);
    this.#controller?.abort(this.#abortedWith);
  }
}

/**
 * Starts the work of `step` (claimed by `podId`) with `definition`, or fails it retryably when this
 * pod has no such type registered.
 */
export function startStepWork(definition: StepDefinition | undefined, step: ClaimedStep, podId: string, logger: Logger): StepWork {
  const ctx = new LazyStepContext(step, podId, logger);
  let running = true;
  const settled: Promise<HandlerSettledEvent> = (
    definition === undefined
      ? Promise.resolve<HandlerSettledEvent>({ type: 'handler.failed', error: `step type '${step.type}' is not registered on pod ${podId}`, retryable: true })
      : runHandler(definition, step.args, ctx)
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

async function runHandler(definition: StepDefinition, args: unknown, ctx: StepContext): Promise<HandlerSettledEvent> {
  try {
    return { type: 'handler.succeeded', result: await definition.handler(args, ctx) };
  } catch (err) {
    return { type: 'handler.failed', error: errorMessage(err), retryable: isRetryable(definition, err, ctx) };
  }
}

/**
 * `NonRetryableError` is also recognised by name: a handler module may import it from another copy of
 * the package (dist/ next to src/, or a nested node_modules), where `instanceof` fails.
 */
function isNonRetryable(err: unknown): boolean {
  return err instanceof NonRetryableError || (err instanceof Error && err.name === 'NonRetryableError');
}

function isRetryable(definition: StepDefinition, err: unknown, ctx: StepContext): boolean {
  if (isNonRetryable(err)) return false;
  if (definition.retryable === undefined) return true;
  try {
    return Boolean(definition.retryable(err) ?? true);
  } catch (classifierError) {
    // A broken classifier must not turn a transient failure into a dead letter.
    ctx.log.warn({ err: classifierError }, 'the step type\'s retryable(err) threw; retrying the step');
    return true;
  }
}

/** The message recorded as `last_error`: the error's own message, else its name, else its JSON. */
function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  return describeError(err);
}
