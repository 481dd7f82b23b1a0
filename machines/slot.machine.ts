/**
 * The slot machine: one unit of capacity, alive as long as the pod, whose `busy` state is the
 * statechart of the one claimed step it runs (DESIGN §3 Fenced writes, Timeouts, Drain). `idle` until
 * the supervisor assigns a step; `busy` from then until the step's outcome is recorded and its work
 * has settled; then `idle` again, telling the supervisor `slot.freed` with the outcome. It owns the
 * one-step-at-a-time rule and what to write about the step and when; it must not claim, choose steps,
 * decide a row's new status (the store does: a write answers with the applied outcome, or `stale`)
 * nor read a clock (the step's actor times the attempt and tells it `handler.timedOut`).
 *
 * Each claimed step is its own actor: `busy` invokes `runStep` (id `step`), which runs the step's
 * work and makes the fenced writes this machine asks for (`step.write` → `write.done | write.failed`).
 * A success is the one case with nothing to decide (complete the attempt, now), so the step's actor
 * completes a step whose handler succeeded before this machine asked anything of it and reports
 * `success.written` with the outcome: `executing` → `idle` in one event, where the ask-and-answer
 * (`handler.succeeded`, `step.write`, `write.done`) took three events and two transitions per step.
 * The step still goes executing → reporting → outcome (DESIGN §4); on this path its report is made
 * by its actor while the slot waits in `executing` (work that settled is no longer timed, so no
 * timeout interrupts that complete).
 * Leaving `busy` stops it, so no finished step lingers in `snapshot.children`. Why not a step machine
 * per claim with its own handler and report children, as before: every child actor costs ~30 µs of
 * CPU where an event on a live actor costs ~2 µs (xstate 5.33); the review's prototype of this shape
 * took the machine tree from ~140 to ~45 µs per step and stayed flat as capacity grew.
 *
 * Inside `busy`: `executing` → `idle` on `success.written`; otherwise `executing` → `reporting`
 * (→ `retryingReport` → `reporting` on a database error) → (`reported` →) (`settling` →) `idle`,
 * telling the supervisor `slot.freed` on the way out.
 * - Timeout (`handler.timedOut` while executing): report the failure (reason `timeout`) at once and
 *   send `handler.abort`, but stay busy until the work settles, so parallelism is never exceeded. A
 *   result that arrives after the timeout was reported is dropped. Later states ignore a
 *   `handler.timedOut` that raced another event. The step's actor owns the timer (`ctx.extend(ms)`
 *   re-arms it there), not an `after` delay here: XState schedules and cancels a delay through the
 *   system's scheduler on every step, and every actor that stops makes it scan all the system's
 *   scheduled events (one per busy slot), so each step cost more the more slots a pod had.
 * - A failed write (database error) is retried every `reportRetryDelay` until it commits: giving up
 *   would leave the row claimed by a live pod, which nothing recovers.
 * - `step.abort` with mode `release` (drain grace over): while executing, abort the work and report
 *   a release; the step then ends without waiting for the work (the pod is exiting). Mode `fenced`
 *   (the pod lost its claims): while executing, abort the work and write nothing; outcome `stale`,
 *   after the work settles. Either mode lets a write already in flight finish and stops retries of a
 *   failed one (outcome `stale`: the sweep recovers the row once the pod is down or dead).
 * - An idle slot ignores `step.abort` (the supervisor tells every slot when it aborts all), and so
 *   does a stopped step's actor: a late settlement never reaches the slot's next step.
 * - The step's actor crashed (a bug in the runtime): nothing can write for it any more; the slot
 *   frees itself with outcome `stale` and the error, and the sweep recovers the row once the pod ends.
 */
import { assign, sendParent, sendTo, setup } from 'xstate';
import { describeError, placeholders, type ClaimedStep, type StepActorFact, type StepReport } from './actors.js';
import type { AbortMode, HandlerAbortReason, SlotFreedEvent, StepOutcome } from './events.js';

export interface SlotMachineInput {
  readonly slotId: string;
  /** Pause between attempts of a write that failed with a database error. */
  readonly reportRetryDelayMs: number;
}

/** Supervisor → slot: run this step, claimed by `podId` (the pod's current incarnation). */
export interface SlotAssignEvent {
  readonly type: 'slot.assign';
  readonly podId: string;
  readonly step: ClaimedStep;
}

/** Supervisor → slot: stop working on the step (ignored by an idle slot). */
export interface StepAbortEvent {
  readonly type: 'step.abort';
  readonly mode: AbortMode;
}

export type SlotMachineEvent = SlotAssignEvent | StepAbortEvent | StepActorFact;

export interface SlotMachineContext extends SlotMachineInput {
  readonly podId: string | null;
  /** The step this slot runs; null while idle. */
  readonly step: ClaimedStep | null;
  /** The write to make, once decided. */
  readonly report: StepReport | null;
  readonly outcome: StepOutcome | null;
  readonly handlerSettled: boolean;
  readonly abortMode: AbortMode | null;
  /** Failed write attempts (database errors) for the current step. */
  readonly reportFailures: number;
  /** Set when the step's actor crashed. */
  readonly crash: string | null;
  /** Steps this slot has finished. */
  readonly finished: number;
}

/** The outcome to tell: the event's, when it is the answer of the write, else the one recorded. */
function outcomeOf(context: SlotMachineContext, event: SlotMachineEvent): StepOutcome | null {
  return event.type === 'write.done' || event.type === 'success.written' ? event.outcome : context.outcome;
}

const STEP_RESET = { report: null, outcome: null, handlerSettled: false, abortMode: null, reportFailures: 0, crash: null } as const;

export const slotMachine = setup({
  types: {
    context: {} as SlotMachineContext,
    input: {} as SlotMachineInput,
    events: {} as SlotMachineEvent,
  },
  actors: { runStep: placeholders.runStep },
  delays: {
    reportRetryDelay: ({ context }) => context.reportRetryDelayMs,
  },
  guards: {
    isRelease: ({ event }) => event.type === 'step.abort' && event.mode === 'release',
    aborted: ({ context }) => context.abortMode !== null,
    mustAwaitHandler: ({ context }) => !context.handlerSettled && context.abortMode !== 'release',
  },
  actions: {
    takeStep: assign(({ event }) => (event.type === 'slot.assign' ? { ...STEP_RESET, podId: event.podId, step: event.step } : {})),
    recordHandlerResult: assign(({ event }) => {
      if (event.type === 'handler.succeeded') return { handlerSettled: true, report: { kind: 'complete', result: event.result } as const };
      if (event.type === 'handler.failed') {
        return { handlerSettled: true, report: { kind: 'fail', error: event.error, retryable: event.retryable, reason: 'error' } as const };
      }
      return {};
    }),
    recordTimeout: assign(({ event }) => {
      if (event.type !== 'handler.timedOut') return {};
      const error = event.extended ? `step timed out ${event.ms} ms after its handler last extended the timeout` : `step timed out after ${event.ms} ms`;
      return { report: { kind: 'fail', error, retryable: true, reason: 'timeout' } as const };
    }),
    recordAbort: assign({ abortMode: ({ context, event }) => (event.type === 'step.abort' ? event.mode : context.abortMode) }),
    recordRelease: assign({ report: { kind: 'release' } as const }),
    markSettled: assign({ handlerSettled: true }),
    recordOutcome: assign({ outcome: ({ context, event }) => outcomeOf(context, event) }),
    recordReportFailure: assign({ reportFailures: ({ context }) => context.reportFailures + 1 }),
    giveUpClaim: assign({ outcome: 'stale' as const }),
    recordCrash: assign({ outcome: 'stale' as const, crash: (_, params: { error: unknown }) => describeError(params.error) }),
    write: sendTo('step', ({ context }) => ({ type: 'step.write', report: context.report ?? { kind: 'release' } }) as const),
    abortHandler: sendTo('step', (_, params: { reason: HandlerAbortReason }) => ({ type: 'handler.abort', reason: params.reason }) as const),
    tellFreed: sendParent(({ context, event }) => {
      const freed: SlotFreedEvent = {
        type: 'slot.freed',
        slotId: context.slotId,
        stepId: context.step?.stepId ?? '',
        outcome: outcomeOf(context, event) ?? 'stale',
      };
      return context.crash === null ? freed : { ...freed, error: context.crash };
    }),
    // Records the answer's outcome too: one assign (one context copy) on the way out, not two.
    clearStep: assign(({ context, event }) => ({ step: null, finished: context.finished + 1, outcome: outcomeOf(context, event) })),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({ ...input, ...STEP_RESET, podId: null, step: null, finished: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: { 'slot.assign': { target: 'busy', actions: 'takeStep' } },
    },
    busy: {
      invoke: {
        id: 'step',
        src: 'runStep',
        input: ({ context }) => ({ podId: context.podId ?? '', step: context.step as ClaimedStep }),
        onError: { target: '#slot.idle', actions: [{ type: 'recordCrash', params: ({ event }) => ({ error: event.error }) }, 'tellFreed', 'clearStep'] },
      },
      initial: 'executing',
      states: {
        executing: {
          on: {
            'success.written': { target: '#slot.idle', actions: ['tellFreed', 'clearStep'] },
            'handler.succeeded': { target: 'reporting', actions: 'recordHandlerResult' },
            'handler.failed': { target: 'reporting', actions: 'recordHandlerResult' },
            'handler.timedOut': { target: 'reporting', actions: ['recordTimeout', { type: 'abortHandler', params: { reason: 'timeout' } }] },
            'step.abort': [
              { guard: 'isRelease', target: 'reporting', actions: ['recordAbort', 'recordRelease', { type: 'abortHandler', params: { reason: 'drain' } }] },
              { target: 'settling', actions: ['recordAbort', 'giveUpClaim', { type: 'abortHandler', params: { reason: 'fenced' } }] },
            ],
          },
        },
        reporting: {
          entry: 'write',
          on: {
            // Straight to the end where possible: every transient state costs a microstep per step.
            'write.done': [
              { guard: 'mustAwaitHandler', target: 'settling', actions: 'recordOutcome' },
              { target: '#slot.idle', actions: ['tellFreed', 'clearStep'] },
            ],
            'write.failed': [
              { guard: 'aborted', target: 'reported', actions: ['recordReportFailure', 'giveUpClaim'] },
              { target: 'retryingReport', actions: 'recordReportFailure' },
            ],
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
          always: [
            { guard: 'mustAwaitHandler', target: 'settling' },
            { target: '#slot.idle', actions: ['tellFreed', 'clearStep'] },
          ],
        },
        settling: {
          on: {
            'handler.succeeded': { target: '#slot.idle', actions: ['markSettled', 'tellFreed', 'clearStep'] },
            'handler.failed': { target: '#slot.idle', actions: ['markSettled', 'tellFreed', 'clearStep'] },
            // Fenced while the step's actor made its own complete: that write's outcome is the attempt's.
            'success.written': { target: '#slot.idle', actions: ['markSettled', 'tellFreed', 'clearStep'] },
            // Leaving `busy` stops the step's actor: a still-running handler's signal aborts (release).
            'step.abort': { guard: 'isRelease', target: '#slot.idle', actions: ['recordAbort', 'tellFreed', 'clearStep'] },
          },
        },
      },
    },
  },
});
