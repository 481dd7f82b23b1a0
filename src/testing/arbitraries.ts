/**
 * The fast-check arbitraries of `fleet-q/testing`: schedules of what happens to a queue while a step
 * type runs (submits, handler faults, time passing, pods dying, late completions, drains, DLQ replays,
 * duplicate submits) and standalone abort scenarios for the lifecycle contract. Data only: running a
 * schedule is world.ts's job; this file must not touch a store or an actor.
 */
import fc from 'fast-check';

/** How one handler call behaves: run the real handler, or fail the way the schedule says. */
export type HandlerBehaviour = 'real' | 'throw' | 'non_retryable' | 'hang';

/** One thing that happens to the queue. Pods are picked by index among the live ones. */
export type ScheduleOp =
  | { readonly op: 'submit'; readonly args: number; readonly key: string | null }
  | { readonly op: 'duplicate_submit' }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'pod_death'; readonly pod: number }
  | { readonly op: 'late_completion' }
  /** A pod dies mid-step, another recovers the step, then the dead pod finishes it late. */
  | { readonly op: 'zombie'; readonly pod: number }
  | { readonly op: 'drain'; readonly pod: number }
  | { readonly op: 'dlq_replay' };

/** A generated run: what the handler does call after call, and what happens meanwhile. */
export interface Schedule {
  /** Consumed in order by handler calls; `real` once exhausted, so every run can settle. */
  readonly handler: readonly HandlerBehaviour[];
  readonly ops: readonly ScheduleOp[];
}

/** Which faults a schedule may contain; all on by default. */
export interface FaultMix {
  readonly throws?: boolean;
  readonly nonRetryable?: boolean;
  readonly hangs?: boolean;
  readonly podDeath?: boolean;
  readonly lateCompletion?: boolean;
  readonly drain?: boolean;
  readonly dlqReplay?: boolean;
  readonly duplicateSubmit?: boolean;
}

/** The handler behaviours `faults` allows. */
export function handlerBehaviourArbitrary(faults: FaultMix = {}): fc.Arbitrary<HandlerBehaviour> {
  const options: HandlerBehaviour[] = ['real'];
  if (faults.throws !== false) options.push('throw');
  if (faults.nonRetryable !== false) options.push('non_retryable');
  if (faults.hangs !== false) options.push('hang');
  // `real` first: shrinking goes towards it, so a counterexample keeps only the faults it needs.
  return fc.constantFrom(...options);
}

/** One schedule op; `argsCount` is how many example args the step type has. */
export function scheduleOpArbitrary(argsCount: number, faults: FaultMix = {}): fc.Arbitrary<ScheduleOp> {
  const pod = fc.nat(3);
  const ops: fc.Arbitrary<ScheduleOp>[] = [
    fc.record({
      op: fc.constant('submit' as const),
      args: fc.nat(Math.max(0, argsCount - 1)),
      key: fc.option(fc.constantFrom('key-a', 'key-b'), { nil: null }),
    }),
    fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5_000 }) }),
  ];
  if (faults.podDeath !== false) ops.push(fc.record({ op: fc.constant('pod_death' as const), pod }));
  if (faults.lateCompletion !== false) ops.push(fc.constant({ op: 'late_completion' as const }));
  if (faults.podDeath !== false && faults.lateCompletion !== false) ops.push(fc.record({ op: fc.constant('zombie' as const), pod }));
  if (faults.drain !== false) ops.push(fc.record({ op: fc.constant('drain' as const), pod }));
  if (faults.dlqReplay !== false) ops.push(fc.constant({ op: 'dlq_replay' as const }));
  if (faults.duplicateSubmit !== false) ops.push(fc.constant({ op: 'duplicate_submit' as const }));
  return fc.oneof(...ops);
}

/** A whole schedule: at least one submit first, then up to `maxOps` ops. */
export function scheduleArbitrary(argsCount: number, faults: FaultMix = {}, maxOps = 12): fc.Arbitrary<Schedule> {
  return fc.record({
    handler: fc.array(handlerBehaviourArbitrary(faults), { maxLength: 8 }),
    ops: fc
      .tuple(
        fc.record({ op: fc.constant('submit' as const), args: fc.nat(Math.max(0, argsCount - 1)), key: fc.constant(null) }),
        fc.array(scheduleOpArbitrary(argsCount, faults), { maxLength: maxOps }),
      )
      .map(([first, rest]) => [first, ...rest]),
  });
}

/** A standalone lifecycle run: how its handler calls behave, which attempt it is, and when (if ever) it is aborted. */
export interface AbortScenario {
  readonly handler: readonly HandlerBehaviour[];
  readonly attempt: number;
  readonly args: number;
  /** Simulated ms after start at which `signal` aborts; null: never. */
  readonly abortAfterMs: number | null;
}

/** Abort scenarios for the lifecycle contract checks. */
export function abortScenarioArbitrary(argsCount: number, maxRetries: number, faults: FaultMix = {}): fc.Arbitrary<AbortScenario> {
  return fc.record({
    handler: fc.array(handlerBehaviourArbitrary(faults), { maxLength: 4 }),
    attempt: fc.integer({ min: 1, max: maxRetries + 1 }),
    args: fc.nat(Math.max(0, argsCount - 1)),
    abortAfterMs: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: null }),
  });
}
