/**
 * The `runStep` effect (machines/actors.ts): the actor of one claimed step, alive while its slot is
 * busy with it. It starts the step's work (execute-step.ts), sends back its one settled event, aborts
 * it on `handler.abort`, and makes each fenced write the slot asks for with `step.write`
 * (report-step.ts), answering `write.done | write.failed`. A success heard before the slot said
 * anything is completed here at once and reported as `success.written` (the protocol is in
 * machines/actors.ts). Stopped (the slot finished, or the pod stops), it aborts work still running.
 * It times the attempt and tells the slot `handler.timedOut` when the timeout passes first (the slot
 * decides what that means). It also gives the handler its step controls: `ctx.progress`
 * (step-progress.ts), `ctx.extend` (re-arms that timer), and a cancel heard from the database
 * (step-control.ts) aborts the work with reason `cancelled`. It owns that plumbing only: no
 * decisions, no SQL.
 */
import { fromCallback } from 'xstate';
import { describeError, type ExecuteStepInput, type ReportStepOutput, type StepActorCommand, type StepReport } from '../../machines/index.js';
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
  // Built once, not per step: every step's work runs with the same store, clock and observer.
  const workDeps: ExecuteStepDeps = { ...deps, parentResults: (stepId) => deps.store.stepParentResults({ stepId }) };
  return fromCallback<StepActorCommand, ExecuteStepInput>(({ input, sendBack, receive, self, system }) => {
    const { step, podId } = input;
    /** The slot has sent a command, or the timeout passed: from then on the slot decides every write. */
    let heard = false;
    /** A `step.write` arrived while this actor's own complete was in flight. */
    let asked = false;
    /** This actor's own complete of a success heard before any command. */
    let ownComplete: Promise<ReportStepOutput> | undefined;

    // The actor system's clock, not setTimeout: it is the clock the pod's machines run on, so a
    // simulated pod (tests, the fleet-q/testing kit) times its steps in simulated time, and a frozen
    // one never times them out; in production it is real time.
    const clock = system._clock;
    /** Whether the attempt is still timed: false once its timer fired or was cleared (an extend then changes nothing). */
    let timing = false;
    let timerId: unknown;
    const disarm = () => {
      if (timing) clock.clearTimeout(timerId);
      timing = false;
    };
    /** (Re)starts the attempt's timer to end `ms` from now. */
    const arm = (ms: number, extended: boolean) => {
      disarm();
      timing = true;
      timerId = clock.setTimeout(() => {
        timing = false;
        heard = true;
        sendBack({ type: 'handler.timedOut', ms, extended });
      }, ms);
    };
    arm(step.timeoutMs, false);

    const cancelled = () => work.abort('cancelled');
    // Made on the first ctx.progress only: most steps never report progress.
    let progress: ProgressWriter | undefined;
    const controls: StepControls = {
      progress: (value) =>
        (progress ??= new ProgressWriter(deps.store, { stepId: step.stepId, podId, attempt: step.attempt }, cancelled, deps.logger)).report(value),
      extend: (ms) => {
        if (!Number.isInteger(ms) || ms < 1 || ms > MAX_EXTEND_MS)
          throw new ValidationError(`ctx.extend(ms) needs an integer from 1 to ${MAX_EXTEND_MS}, got ${String(ms)}`);
        if (timing) arm(ms, true);
      },
    };
    const work = startStepWork(deps.registry.get(step.type), step, podId, deps.logger, self, workDeps, controls);
    const unwatch = deps.cancellations?.watch(podId, step.stepId, cancelled);
    const write = (report: StepReport): Promise<ReportStepOutput> =>
      reportStep(deps.store, deps.completions, deps.telemetry, { podId, stepId: step.stepId, attempt: step.attempt, report });
    // sendBack after this actor was stopped is dropped by xstate, so a late settlement or write
    // answer never reaches the slot's next step.
    void work.settled.then((settled) => {
      // Work that settled in time did not time out, even while its own complete is in flight.
      disarm();
      progress?.close();
      if (heard || settled.type !== 'handler.succeeded') return sendBack(settled);
      ownComplete = write({ kind: 'complete', result: settled.result });
      ownComplete.then(
        // Asked meanwhile (a drain's release): the slot hears the settlement first, then its answer.
        (written) => sendBack(asked ? settled : { type: 'success.written', outcome: written.outcome }),
        // A database error (counted by reportStep): the slot asks for the write and retries it.
        () => sendBack(settled),
      );
    });
    receive((command) => {
      if (command.type === 'handler.abort') {
        heard = true;
        // The slot has left `executing`: a timeout would change nothing now.
        disarm();
        return work.abort(command.reason);
      }
      // A custom lifecycle runs as this actor's child, so its own done and error events arrive here
      // too: they are not the slot's commands.
      if (command.type !== 'step.write') return;
      heard = true;
      let written: Promise<ReportStepOutput>;
      if (ownComplete === undefined) {
        written = write(command.report);
      } else {
        // The attempt is being recorded already: its outcome answers; the asked write is made only
        // if that complete failed.
        asked = true;
        written = ownComplete.then(
          (outcome) => outcome,
          () => write(command.report),
        );
      }
      written.then(
        (w) => sendBack({ type: 'write.done', outcome: w.outcome }),
        (err: unknown) => sendBack({ type: 'write.failed', error: describeError(err) }),
      );
    });
    return () => {
      disarm();
      unwatch?.();
      progress?.close();
      work.abort('stopped');
    };
  });
}
