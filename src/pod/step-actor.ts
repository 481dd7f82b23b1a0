/**
 * The `runStep` effect (machines/actors.ts): the actor of one claimed step, alive while its slot is
 * busy with it. It starts the step's work (execute-step.ts), sends back its one settled event, aborts
 * it on `handler.abort`, and makes each fenced write the slot asks for with `step.write`
 * (report-step.ts), answering `write.done | write.failed`. Stopped (the slot finished, or the pod
 * stops), it aborts work still running. It also gives the handler its step controls: `ctx.progress`
 * (step-progress.ts), `ctx.extend` (sent to the slot as `handler.extend`, which re-arms the timeout),
 * and a cancel heard from the database (step-control.ts) aborts the work with reason `cancelled`.
 * It owns that plumbing only: no decisions, no SQL.
 */
import { fromCallback } from 'xstate';
import { describeError, type ExecuteStepInput, type StepActorCommand } from '../../machines/index.js';
import type { Logger } from '../log.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Store } from '../store/store.js';
import { ValidationError } from '../errors.js';
import { startStepWork, type ExecuteStepDeps, type StepControls } from './execute-step.js';
import type { CancellationWatch } from './step-control.js';
import { ProgressWriter } from './step-progress.js';
import type { CompletionBatcher } from './completions.js';
import { reportStep } from './report-step.js';
import type { PodTelemetry } from './telemetry.js';

/** What the step actors are built from. */
export interface StepActorDeps extends ExecuteStepDeps {
  readonly registry: StepRegistry;
  readonly store: Store;
  /** Completions go through the pod's batcher (completions.ts), the other writes straight to the store. */
  readonly completions: CompletionBatcher;
  readonly telemetry: PodTelemetry;
  /** Parent of every handler's `ctx.log`. */
  readonly logger: Logger;
  /** Where running steps listen for their cancellation; without it a cancel is heard only through progress writes. */
  readonly cancellations?: CancellationWatch;
}

/** `ctx.extend(ms)` accepts what `timeout_ms` accepts at submit. */
export const MAX_EXTEND_MS = 7 * 24 * 3_600_000;

/** The callback actor logic the slot machine invokes as `runStep`. */
export function stepActorLogic(deps: StepActorDeps) {
  return fromCallback<StepActorCommand, ExecuteStepInput>(({ input, sendBack, receive, self }) => {
    const { step, podId } = input;
    const cancelled = () => work.abort('cancelled');
    const progress = new ProgressWriter(deps.store, { stepId: step.stepId, podId, attempt: step.attempt }, cancelled, deps.logger);
    const controls: StepControls = {
      progress: (value) => progress.report(value),
      extend: (ms) => {
        if (!Number.isInteger(ms) || ms < 1 || ms > MAX_EXTEND_MS)
          throw new ValidationError(`ctx.extend(ms) needs an integer from 1 to ${MAX_EXTEND_MS}, got ${String(ms)}`);
        sendBack({ type: 'handler.extend', ms });
      },
    };
    const work = startStepWork(deps.registry.get(step.type), step, podId, deps.logger, self, deps, controls);
    const unwatch = deps.cancellations?.watch(podId, step.stepId, cancelled);
    void work.settled.then(() => progress.close());
    // sendBack after this actor was stopped is dropped by xstate, so a late settlement or write
    // answer never reaches the slot's next step.
    void work.settled.then(sendBack);
    receive((command) => {
      if (command.type === 'handler.abort') return work.abort(command.reason);
      // A custom lifecycle runs as this actor's child, so its own done and error events arrive here too.
      if (command.type !== 'step.write') return;
      reportStep(deps.store, deps.completions, deps.telemetry, { podId, stepId: step.stepId, attempt: step.attempt, report: command.report }).then(
        (written) => sendBack({ type: 'write.done', outcome: written.outcome }),
        (err: unknown) => sendBack({ type: 'write.failed', error: describeError(err) }),
      );
    });
    return () => {
      unwatch?.();
      progress.close();
      work.abort('stopped');
    };
  });
}
