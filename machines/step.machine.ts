/**
 * The step machine: one claimed step on this pod, from handler start to the one fenced write that
 * records its outcome (DESIGN §3 Fenced writes, Timeouts, Drain). It owns what to report and when the
 * slot may be reused; it must not decide the step's new status (the store does: reportStep answers
 * with the applied outcome, or `stale`) and it reads no clock (the timeout is an `after` delay).
 *
 * States: `active` runs the handler (`executeStep`, a callback actor) for its whole life, through
 * `executing` → `reporting` (`reportStep`) → `settling`; then one final state per outcome.
 * - Timeout: report the failure (reason `timeout`) at once and send `handler.abort`, but stay in
 *   `settling` until the handler settles, so the slot stays busy and parallelism is never exceeded.
 *   A result that arrives after the timeout was reported is dropped.
 * - A failed report (database error) is retried every `reportRetryDelay` until it commits: giving up
 *   would leave the row claimed by a live pod, which nothing recovers.
 * - `step.abort` with mode `release` (drain grace over): while executing, abort the handler and report
 *   a release; the step then ends without waiting for the handler (the pod is exiting). Mode `fenced`
 *   (the pod lost its claims): while executing, abort the handler and write nothing; outcome `stale`,
 *   after the handler settles. Either mode lets a write already in flight finish and stops retries of
 *   a failed one (outcome `stale`: the sweep recovers the row once the pod is down or dead).
 */
import { assign, raise, sendTo, setup } from 'xstate';
import { describeError, placeholders, type ClaimedStep, type HandlerSettledEvent, type StepReport } from './actors.js';
import type { AbortMode, HandlerAbortReason, StepOutcome } from './events.js';

export interface StepMachineInput {
  readonly podId: string;
  readonly step: ClaimedStep;
  /** Pause between attempts of a report that failed with a database error. */
  readonly reportRetryDelayMs: number;
}

/** Supervisor → slot → step: stop working on this step. */
export interface StepAbortEvent { readonly type: 'step.abort'; readonly mode: AbortMode }

export type StepMachineEvent = HandlerSettledEvent | StepAbortEvent;

export interface StepMachineContext extends StepMachineInput {
  /** The write to make, once decided. */
  readonly report: StepReport | null;
  readonly outcome: StepOutcome | null;
  readonly handlerSettled: boolean;
  readonly abortMode: AbortMode | null;
  /** Failed report attempts (database errors). */
  readonly reportFailures: number;
}

/** What the slot learns when the step machine finishes. */
export interface StepMachineOutput { readonly stepId: string; readonly outcome: StepOutcome }

export const stepMachine = setup({
  types: {
    context: {} as StepMachineContext,
    input: {} as StepMachineInput,
    events: {} as StepMachineEvent,
    output: {} as StepMachineOutput,
  },
  actors: { executeStep: placeholders.executeStep, reportStep: placeholders.reportStep },
  delays: {
    stepTimeout: ({ context }) => context.step.timeoutMs,
    reportRetryDelay: ({ context }) => context.reportRetryDelayMs,
  },
  guards: {
    isRelease: ({ event }) => event.type === 'step.abort' && event.mode === 'release',
    aborted: ({ context }) => context.abortMode !== null,
    mustAwaitHandler: ({ context }) => !context.handlerSettled && context.abortMode !== 'release',
    outcomeIs: ({ context }, params: { outcome: StepOutcome }) => context.outcome === params.outcome,
  },
  actions: {
    recordHandlerResult: assign(({ event }) => {
      if (event.type === 'handler.succeeded') return { handlerSettled: true, report: { kind: 'complete', result: event.result } as const };
      if (event.type === 'handler.failed') {
        return { handlerSettled: true, report: { kind: 'fail', error: event.error, retryable: event.retryable, reason: 'error' } as const };
      }
      return {};
    }),
    recordTimeout: assign({
      report: ({ context }) => ({
        kind: 'fail', error: `step timed out after ${context.step.timeoutMs} ms`, retryable: true, reason: 'timeout',
      }) as const,
    }),
    recordAbort: assign({ abortMode: ({ context, event }) => (event.type === 'step.abort' ? event.mode : context.abortMode) }),
    recordRelease: assign({ report: { kind: 'release' } as const }),
    markSettled: assign({ handlerSettled: true }),
    recordOutcome: assign({ outcome: (_, params: { outcome: StepOutcome }) => params.outcome }),
    recordReportFailure: assign({ reportFailures: ({ context }) => context.reportFailures + 1 }),
    giveUpClaim: assign({ outcome: 'stale' as const }),
    abortHandler: sendTo('handler', (_, params: { reason: HandlerAbortReason }) => ({ type: 'handler.abort', reason: params.reason }) as const),
    // A crashed handler actor (a bug in the runtime) is a retryable failure like any other.
    raiseHandlerCrash: raise((_, params: { error: unknown }) => ({
      type: 'handler.failed', error: `handler crashed: ${describeError(params.error)}`, retryable: true,
    }) as const),
  },
}).createMachine({
  id: 'step',
  context: ({ input }) => ({
    ...input, report: null, outcome: null, handlerSettled: false, abortMode: null, reportFailures: 0,
  }),
  initial: 'active',
  states: {
    active: {
      invoke: {
        id: 'handler',
        src: 'executeStep',
        input: ({ context }) => ({ podId: context.podId, step: context.step }),
        onError: { actions: { type: 'raiseHandlerCrash', params: ({ event }) => ({ error: event.error }) } },
      },
      initial: 'executing',
      states: {
        executing: {
          after: { stepTimeout: { target: 'reporting', actions: ['recordTimeout', { type: 'abortHandler', params: { reason: 'timeout' } }] } },
          on: {
            'handler.succeeded': { target: 'reporting', actions: 'recordHandlerResult' },
            'handler.failed': { target: 'reporting', actions: 'recordHandlerResult' },
            'step.abort': [
              { guard: 'isRelease', target: 'reporting', actions: ['recordAbort', 'recordRelease', { type: 'abortHandler', params: { reason: 'drain' } }] },
              { target: 'settling', actions: ['recordAbort', 'giveUpClaim', { type: 'abortHandler', params: { reason: 'fenced' } }] },
            ],
          },
        },
        reporting: {
          invoke: {
            src: 'reportStep',
            input: ({ context }) => ({
              podId: context.podId,
              stepId: context.step.stepId,
              attempt: context.step.attempt,
              report: context.report ?? { kind: 'release' },
            }),
            onDone: { target: 'reported', actions: { type: 'recordOutcome', params: ({ event }) => ({ outcome: event.output.outcome }) } },
            onError: [
              { guard: 'aborted', target: 'reported', actions: ['recordReportFailure', 'giveUpClaim'] },
              { target: 'retryingReport', actions: 'recordReportFailure' },
            ],
          },
          on: {
            'handler.succeeded': { actions: 'markSettled' },
            'handler.failed': { actions: 'markSettled' },
            'step.abort': { actions: 'recordAbort' },
          },
        },
        retryingReport: {
          after: { reportRetryDelay: 'reporting' },
          on: {
            'handler.succeeded': { actions: 'markSettled' },
            'handler.failed': { actions: 'markSettled' },
            'step.abort': { target: 'reported', actions: ['recordAbort', 'giveUpClaim'] },
          },
        },
        reported: {
          always: [{ guard: 'mustAwaitHandler', target: 'settling' }, { target: '#step.finished' }],
        },
        settling: {
          on: {
            'handler.succeeded': { target: '#step.finished', actions: 'markSettled' },
            'handler.failed': { target: '#step.finished', actions: 'markSettled' },
            'step.abort': { guard: 'isRelease', target: '#step.finished', actions: 'recordAbort' },
          },
        },
      },
    },
    finished: {
      always: [
        { guard: { type: 'outcomeIs', params: { outcome: 'completed' } }, target: 'completed' },
        { guard: { type: 'outcomeIs', params: { outcome: 'retried' } }, target: 'retried' },
        { guard: { type: 'outcomeIs', params: { outcome: 'dead_lettered' } }, target: 'dead_lettered' },
        { guard: { type: 'outcomeIs', params: { outcome: 'released' } }, target: 'released' },
        { target: 'stale' },
      ],
    },
    completed: { type: 'final' },
    retried: { type: 'final' },
    dead_lettered: { type: 'final' },
    released: { type: 'final' },
    stale: { type: 'final' },
  },
  output: ({ context }) => ({ stepId: context.step.stepId, outcome: context.outcome ?? 'stale' }),
});
