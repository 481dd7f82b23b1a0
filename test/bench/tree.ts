/**
 * The machine tree alone: the real supervisor, slot and heartbeat/leader machines, with every effect
 * answered at once in memory (claims hand out synthetic rows, the step's actor reports its no-op step
 * completed on the next microtask, and acknowledges any write it is asked for on the next one). CPU µs per step here is what the actors cost,
 * with no database and no driver; the processing runs add those. Owns this one measurement; the
 * stand-in effects exist only here, never in a test or a pod.
 */
import { createActor, fromCallback, fromPromise } from 'xstate';
import {
  providePodActors,
  type ClaimedStep,
  type ClaimStepsInput,
  type ClaimStepsOutput,
  type CheckLeaderOutput,
  type ExecuteStepInput,
  type PruneInput,
  type PruneReport,
  type RecoverInput,
  type RecoveryReport,
  type RegisterInput,
  type RegisterOutput,
  type HeartbeatOutput,
  type PodInput,
  type StepActorCommand,
} from '../../machines/index.js';
import { TURN_END_CLOCK } from '../../src/pod/turn-clock.js';
import { cpuMeter } from './cpu.js';
import type { TreeResult } from './report.js';

const SETTINGS = {
  heartbeatIntervalMs: 30_000,
  fenceWindowMs: 105_000,
  claimIntervalMs: 5_000,
  leaderCheckIntervalMs: 60_000,
  recoveryIntervalMs: 300_000,
  pruneIntervalMs: 3_600_000,
  retentionMs: 0,
  shutdownGraceMs: 1_000,
  registerRetryDelayMs: 1_000,
  reportRetryDelayMs: 1_000,
};

/** Runs `steps` no-op steps through a pod machine tree of `capacity` slots; resolves with CPU µs per step. */
export async function measureTree(steps: number, capacity: number): Promise<TreeResult> {
  let handedOut = 0;
  let finished = 0;
  let done: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => {
    done = resolve;
  });
  const machine = providePodActors({
    register: fromPromise<RegisterOutput, RegisterInput>(async () => ({ podId: 'tree-00000000' })),
    claimSteps: fromPromise<ClaimStepsOutput, ClaimStepsInput>(async ({ input }) => {
      const rows: ClaimedStep[] = [];
      for (let i = 0; i < input.limit && handedOut < steps; i++, handedOut++) {
        rows.push({ stepId: `step_${handedOut}`, type: 'noop', args: {}, attempt: 1, timeoutMs: 900_000, idempotencyKey: null });
      }
      return rows;
    }),
    markDown: fromPromise<void, PodInput>(async () => undefined),
    heartbeat: fromPromise<HeartbeatOutput, PodInput>(async () => ({ ok: true })),
    checkLeader: fromPromise<CheckLeaderOutput, PodInput>(async () => ({ isLeader: false, leaderId: null })),
    recover: fromPromise<RecoveryReport, RecoverInput>(async () => ({
      dryRun: false,
      deadPods: [],
      orphanedSteps: [],
      requeued: [],
      deadLettered: [],
      durationMs: 0,
    })),
    prune: fromPromise<PruneReport, PruneInput>(async () => ({ steps: 0, events: 0, pods: 0 })),
    // As the runtime's step actor on its common path: a success it completes itself, one success.written.
    runStep: fromCallback<StepActorCommand, ExecuteStepInput>(({ sendBack, receive }) => {
      void Promise.resolve().then(() => sendBack({ type: 'success.written', outcome: 'completed' }));
      receive(() => {
        void Promise.resolve().then(() => sendBack({ type: 'write.done', outcome: 'completed' }));
      });
    }),
  });
  // The pod's clock: a claim after a free waits for the end of the turn, as in a pod.
  const actor = createActor(machine, { input: { ...SETTINGS, capacity }, clock: TURN_END_CLOCK });
  actor.on('*', (fact) => {
    if (fact.type === 'slot.freed' && ++finished === steps) done();
  });
  // Wake the claim loop whenever it waits with idle slots and rows remain.
  const cpu = cpuMeter();
  const started = performance.now();
  actor.start();
  const kick = setInterval(() => actor.send({ type: 'work.available' }), 1);
  await allDone;
  const micros = cpu();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(kick);
  actor.stop();
  return { capacity, steps, cpuMicrosPerStep: micros / steps, perSecond: steps / seconds };
}
