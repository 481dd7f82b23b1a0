/**
 * Test harness for the machine unit tests: stub actors whose promises the test settles by hand, a
 * stub step actor, and a recording parent so machines that `sendParent` run exactly as they do
 * under the supervisor. Time is a `SimulatedClock` shared by the whole actor system; nothing sleeps.
 */
import {
  createActor,
  createMachine,
  fromCallback,
  fromPromise,
  SimulatedClock,
  type AnyActorLogic,
  type AnyActorRef,
  type AnyEventObject,
  type InputFrom,
} from 'xstate';
import type {
  ExecuteStepInput,
  HandlerAbortEvent,
  HandlerSettledEvent,
  ReportStepInput,
  ReportStepOutput,
  StepActorCommand,
  SuccessWrittenEvent,
} from '../../../machines/index.js';

/** Lets promise callbacks and XState's mailbox run; no timers involved. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** One call of a held stub: its input and the means to settle it. */
export interface HeldCall<TIn, TOut> {
  readonly input: TIn;
  readonly resolve: (output: TOut) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal;
}

/** A `fromPromise` stub whose calls stay pending until the test settles them. */
export function held<TOut, TIn>() {
  const calls: HeldCall<TIn, TOut>[] = [];
  const logic = fromPromise<TOut, TIn>(({ input, signal }) => new Promise<TOut>((resolve, reject) => void calls.push({ input, resolve, reject, signal })));
  return {
    logic,
    calls,
    /** The most recent call. */
    last(): HeldCall<TIn, TOut> {
      const call = calls.at(-1);
      if (!call) throw new Error('the stub was never called');
      return call;
    },
    /** Calls whose actor was not stopped (a stopped invoke aborts its signal). */
    live(): HeldCall<TIn, TOut>[] {
      return calls.filter((c) => !c.signal.aborted);
    },
  };
}

/** A `fromPromise` stub answering every call at once with `answer(input)`. */
export function answering<TOut, TIn>(answer: (input: TIn) => TOut | Promise<TOut>) {
  const inputs: TIn[] = [];
  const logic = fromPromise<TOut, TIn>(async ({ input }) => {
    inputs.push(input);
    return answer(input);
  });
  return { logic, inputs };
}

/** One running step of the stub `runStep`: its work and the writes it was asked for. */
export interface HandlerRun {
  readonly input: ExecuteStepInput;
  readonly aborts: HandlerAbortEvent['reason'][];
  stopped: boolean;
  /** Sends the work's settlement, or `success.written` as the runtime's actor does for a success it completed itself. */
  settle(event: HandlerSettledEvent | SuccessWrittenEvent): void;
  /** The attempt's timeout passes (the runtime's actor times it): `ms` defaults to the step's `timeoutMs`. */
  timeOut(ms?: number, extended?: boolean): void;
}

/**
 * A stub `runStep` callback actor (the step's own actor): records aborts and stops, settles its work
 * or times it out when the test says (it arms no timer of its own), and hands each `step.write` to
 * `write` (held by the test, or answered at once) before answering `write.done | write.failed` as the
 * runtime's actor does.
 */
export function stepActors(write?: (input: ReportStepInput) => ReportStepOutput) {
  const runs: HandlerRun[] = [];
  const reports = {
    calls: [] as HeldCall<ReportStepInput, ReportStepOutput>[],
    last(): HeldCall<ReportStepInput, ReportStepOutput> {
      const call = reports.calls.at(-1);
      if (!call) throw new Error('no write was asked for');
      return call;
    },
  };
  const logic = fromCallback<StepActorCommand, ExecuteStepInput>(({ input, sendBack, receive }) => {
    const run: HandlerRun = {
      input,
      aborts: [],
      stopped: false,
      settle: (event) => sendBack(event),
      timeOut: (ms = input.step.timeoutMs, extended = false) => sendBack({ type: 'handler.timedOut', ms, extended }),
    };
    runs.push(run);
    receive((command) => {
      if (command.type === 'handler.abort') return void run.aborts.push(command.reason);
      const writeInput: ReportStepInput = { podId: input.podId, stepId: input.step.stepId, attempt: input.step.attempt, report: command.report };
      const answer = new Promise<ReportStepOutput>((resolve, reject) => {
        if (write !== undefined) return resolve(write(writeInput));
        reports.calls.push({ input: writeInput, resolve, reject, signal: new AbortController().signal });
      });
      answer.then(
        (output) => sendBack({ type: 'write.done', outcome: output.outcome }),
        (err: unknown) => sendBack({ type: 'write.failed', error: String(err) }),
      );
    });
    return () => {
      run.stopped = true;
    };
  });
  return {
    logic,
    runs,
    reports,
    of(stepId: string): HandlerRun {
      const run = runs.findLast((r) => r.input.step.stepId === stepId);
      if (!run) throw new Error(`no step actor ran ${stepId}`);
      return run;
    },
  };
}

const STOP_CHILD = 'harness.stopChild';

/**
 * Runs `logic` as the invoked child `child` of a parent that records every event it receives,
 * as the supervisor would. Errors are collected instead of crashing the test process.
 */
export function underParent<T extends AnyActorLogic>(logic: T, input: InputFrom<T>) {
  const clock = new SimulatedClock();
  const received: AnyEventObject[] = [];
  const errors: unknown[] = [];
  const parent = createMachine({
    initial: 'running',
    states: {
      running: { invoke: { id: 'child', src: logic, input }, on: { [STOP_CHILD]: 'stopped' } },
      // The parent lives on, as a slot does after its step's actor stopped.
      stopped: {},
    },
    on: { '*': { actions: ({ event }) => void received.push(event) } },
  });
  const actor = createActor(parent, { clock });
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  const child = actor.getSnapshot().children['child'] as AnyActorRef;
  return {
    clock,
    actor,
    child,
    errors,
    received,
    /** Stops the child the way a parent does: by leaving the state that invokes it. */
    stopChild(): void {
      actor.send({ type: STOP_CHILD });
    },
    /** Events received from the child of the given types (or all non-xstate ones). */
    facts(...types: string[]): AnyEventObject[] {
      return received.filter((e) => (types.length ? types.includes(e.type) : !e.type.startsWith('xstate.')));
    },
  };
}

/** A claimed step for tests. */
export function claimedStep(stepId: string, overrides: Partial<{ attempt: number; timeoutMs: number }> = {}) {
  return {
    stepId,
    type: 'echo',
    args: { stepId },
    attempt: overrides.attempt ?? 1,
    timeoutMs: overrides.timeoutMs ?? 1_000,
    idempotencyKey: null,
  };
}
