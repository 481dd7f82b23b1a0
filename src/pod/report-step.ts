/**
 * The fenced write that records one attempt's outcome: THE place where the pod's step path calls the
 * store about a step it ran: completions through the pod's batcher (`stepCompleteMany`, completions.ts),
 * `stepFail` and `stepRelease` directly. It owns the mapping from a `StepReport` to that call and the two
 * log lines only it can write (`stale_write_rejected`, `step.timed_out`); it must not decide what to
 * report or retry a failed write (the slot machine does both).
 */
import type { ReportStepInput, ReportStepOutput } from '../../machines/index.js';
import { FleetError } from '../errors.js';
import type { CompletionBatcher } from './completions.js';
import type { PodTelemetry } from './telemetry.js';
import type { FencedWriteOutcome, Json, Store } from '../store/store.js';

type AnyFencedWrite = FencedWriteOutcome<'completed' | 'retried' | 'dead_lettered' | 'released'>;

/** Makes the write `input.report` asks for; rejects on a database error (counted first). */
export async function reportStep(store: Store, completions: CompletionBatcher, telemetry: PodTelemetry, input: ReportStepInput): Promise<ReportStepOutput> {
  let written: AnyFencedWrite;
  try {
    written = await writeReport(store, completions, input);
  } catch (err) {
    telemetry.storeError(operationOf(input), err);
    throw err;
  }
  if (!written.applied) {
    telemetry.event(
      'warn',
      'stale_write_rejected',
      { step_id: input.stepId, attempt: input.attempt, pod_id: input.podId, write: input.report.kind },
      'fenced write matched no row: this pod no longer holds the claim; its outcome was dropped',
    );
    return { outcome: 'stale' };
  }
  if (input.report.kind === 'fail' && input.report.reason === 'timeout') {
    telemetry.event(
      'warn',
      'step.timed_out',
      { step_id: input.stepId, attempt: input.attempt, pod_id: input.podId, outcome: written.outcome, error: input.report.error },
      'step timed out; its slot stays busy until the handler settles',
    );
  }
  return { outcome: written.outcome };
}

function operationOf(input: ReportStepInput): 'stepComplete' | 'stepFail' | 'stepRelease' {
  const kind = input.report.kind;
  return kind === 'complete' ? 'stepComplete' : kind === 'fail' ? 'stepFail' : 'stepRelease';
}

/** The one fenced write `input.report` asks for. */
async function writeReport(store: Store, completions: CompletionBatcher, input: ReportStepInput): Promise<AnyFencedWrite> {
  const claim = { stepId: input.stepId, podId: input.podId, attempt: input.attempt };
  const report = input.report;
  switch (report.kind) {
    case 'complete':
      try {
        // The store serialises the handler's value (once) and refuses what it cannot hold.
        return await completions.complete({ ...claim, result: report.result as Json });
      } catch (err) {
        // A result the store refuses would be refused on every retry of this write, and the row would
        // stay claimed by a live pod forever: record the attempt as failed instead, for good.
        if (!(err instanceof FleetError && err.code === 'validation_error')) throw err;
        return store.stepFail({ ...claim, error: err.message, retryable: false, reason: 'error' });
      }
    case 'fail':
      return store.stepFail({ ...claim, error: report.error, retryable: report.retryable, reason: report.reason });
    case 'release':
      return store.stepRelease({ ...claim, reason: 'drain' });
  }
}
