/**
 * Wires the runtime's effect implementations into the whole machine tree in one call, so src/ never
 * repeats the nesting (supervisor → slot → the step's actor, supervisor → heartbeat | leader). It owns that
 * nesting only; it must not implement an effect (src/pod/implementations.ts does) nor change a machine.
 */
import { fromPromise } from 'xstate';
import type { EnqueueSchedulesOutput, PodActorImplementations, PodInput } from './actors.js';
import { heartbeatMachine } from './heartbeat.machine.js';
import { leaderMachine } from './leader.machine.js';
import { slotMachine } from './slot.machine.js';
import { supervisorMachine } from './supervisor.machine.js';

/** The schedule round of a pod without schedules: nothing due, ever. */
const noSchedules = fromPromise<EnqueueSchedulesOutput, PodInput>(() => Promise.resolve({ nextInMs: null }));

/** The supervisor with every placeholder actor in its tree replaced by `actors`. */
export function providePodActors(actors: PodActorImplementations): typeof supervisorMachine {
  return supervisorMachine.provide({
    actors: {
      register: actors.register,
      claimSteps: actors.claimSteps,
      markDown: actors.markDown,
      heartbeatMachine: heartbeatMachine.provide({ actors: { heartbeat: actors.heartbeat } }),
      leaderMachine: leaderMachine.provide({
        actors: { checkLeader: actors.checkLeader, recover: actors.recover, prune: actors.prune, enqueueSchedules: actors.enqueueSchedules ?? noSchedules },
      }),
      slotMachine: slotMachine.provide({ actors: { runStep: actors.runStep } }),
    },
  });
}
