/**
 * The slot machine: one unit of capacity. `idle` until the supervisor assigns a claimed step, then
 * `busy` running one step machine, then `idle` again, telling the supervisor `slot.freed` with the
 * outcome. It owns the one-step-at-a-time rule; it must not claim, choose steps or talk to the store.
 * A slot is busy exactly as long as its step machine runs, which is until the handler settles (or
 * the pod is releasing on drain), so `capacity` slots bound the handlers running at once.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';
import { describeError, type ClaimedStep } from './actors.js';
import type { SlotFreedEvent } from './events.js';
import { stepMachine, type StepAbortEvent, type StepMachineOutput } from './step.machine.js';

export interface SlotMachineInput {
  readonly slotId: string;
  /** Passed to each step machine. */
  readonly reportRetryDelayMs: number;
}

/** Supervisor → slot: run this step, claimed by `podId` (the pod's current incarnation). */
export interface SlotAssignEvent { readonly type: 'slot.assign'; readonly podId: string; readonly step: ClaimedStep }

export type SlotMachineEvent = SlotAssignEvent | StepAbortEvent;

export interface SlotMachineContext extends SlotMachineInput {
  readonly podId: string | null;
  readonly step: ClaimedStep | null;
  /** Steps this slot has finished. */
  readonly finished: number;
}

export const slotMachine = setup({
  types: {
    context: {} as SlotMachineContext,
    input: {} as SlotMachineInput,
    events: {} as SlotMachineEvent,
  },
  actors: { stepMachine },
  actions: {
    takeStep: assign(({ event }) => (event.type === 'slot.assign' ? { podId: event.podId, step: event.step } : {})),
    clearStep: assign({ step: null, finished: ({ context }) => context.finished + 1 }),
    // The step may have just finished (its done event queued behind this abort): then there is nobody to tell.
    forwardAbort: enqueueActions(({ enqueue, event, self }) => {
      if (event.type === 'step.abort' && self.getSnapshot().children.step) enqueue.sendTo('step', event);
    }),
    tellFreed: sendParent(({ context }, params: StepMachineOutput) => ({
      type: 'slot.freed', slotId: context.slotId, stepId: params.stepId, outcome: params.outcome,
    }) satisfies SlotFreedEvent),
    tellCrashed: sendParent(({ context }, params: { error: unknown }) => ({
      type: 'slot.freed', slotId: context.slotId, stepId: context.step?.stepId ?? '', outcome: 'stale', error: describeError(params.error),
    }) satisfies SlotFreedEvent),
  },
}).createMachine({
  id: 'slot',
  context: ({ input }) => ({ ...input, podId: null, step: null, finished: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: { 'slot.assign': { target: 'busy', actions: 'takeStep' } },
    },
    busy: {
      invoke: {
        id: 'step',
        src: 'stepMachine',
        input: ({ context }) => ({
          podId: context.podId ?? '',
          step: context.step as ClaimedStep,
          reportRetryDelayMs: context.reportRetryDelayMs,
        }),
        onDone: { target: 'idle', actions: [{ type: 'tellFreed', params: ({ event }) => event.output }, 'clearStep'] },
        onError: { target: 'idle', actions: [{ type: 'tellCrashed', params: ({ event }) => ({ error: event.error }) }, 'clearStep'] },
      },
      on: { 'step.abort': { actions: 'forwardAbort' } },
    },
  },
});
