/**
 * The clock a production pod's actor system runs on: real time, except that a 0 ms delay runs at the
 * end of the current event-loop turn (`setImmediate`) instead of 1 ms later (Node.js's floor for
 * `setTimeout`). The supervisor waits 0 ms after a slot frees so that every slot freed in the turn is
 * claimed together (machines/supervisor.machine.ts, `gathering`); a busy pod does that once per
 * claim, and 1 ms each time would idle its slots. Owns the mapping only; simulated pods use
 * xstate's `SimulatedClock` instead.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

/** What xstate's `clock` option takes (xstate does not export its `Clock` type by name). */
type ActorClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

/** A 0 ms delay's handle: an immediate, which `clearTimeout` cannot cancel. */
class TurnEnd {
  constructor(readonly immediate: NodeJS.Immediate) {}
}

export const TURN_END_CLOCK: ActorClock = {
  setTimeout: (fn, ms) => (ms <= 0 ? new TurnEnd(setImmediate(fn)) : setTimeout(fn, ms)),
  clearTimeout: (id) => {
    if (id instanceof TurnEnd) clearImmediate(id.immediate);
    else clearTimeout(id as NodeJS.Timeout);
  },
};
