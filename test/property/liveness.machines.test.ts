/**
 * Liveness across the configuration space, on a simulated clock: the real supervisor machine (with
 * its heartbeat machine) gets the input `supervisorInputOf` derives from a configuration the schema
 * accepts, over (interval, threshold, latency budget) from 1 ms to minutes. Beats are answered by
 * stub actors after a statement latency plus an event-loop delay whose sum stays under the budget.
 * - A pod whose beats commit never fences itself.
 * - A pod whose beats stop (hang, or fail after any delay) has fenced itself before any other pod may
 *   declare it dead: before its last committed heartbeat + threshold, even when the post-commit part
 *   of its last beat's latency and the fence timer's own lateness use up the budget.
 * Seeded by FLEET_Q_TEST_SEED (printed on failure).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import {
  providePodActors,
  type CheckLeaderOutput,
  type ClaimStepsInput,
  type ClaimStepsOutput,
  type HeartbeatOutput,
  type PodFact,
  type PodInput,
  type PruneInput,
  type PruneReport,
  type RecoverInput,
  type RecoveryReport,
  type RegisterInput,
  type RegisterOutput,
  type ReportStepOutput,
} from '../../machines/index.js';
import { loadConfig } from '../../src/config/config.js';
import { supervisorInputOf } from '../../src/pod/timing.js';
import { answering, flush, held, stepActors } from '../unit/machines/harness.js';
import { testSeed } from './harness.js';

/** Interval, threshold and budget in whole ms, as the schema accepts them (threshold ≥ interval + 2 × budget). */
const accepted = fc
  .record({
    intervalMs: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 300_000 })),
    budgetMs: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 60_000 })),
    // 0 is the smallest accepted threshold, where the margins are tightest.
    slackMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 300_000 })),
  })
  .map(({ intervalMs, budgetMs, slackMs }) => ({ intervalMs, budgetMs, thresholdMs: intervalMs + 2 * budgetMs + slackMs }));

type Timing = { intervalMs: number; budgetMs: number; thresholdMs: number };

/** The machine input for `timing`, through the real configuration schema (which must accept it). */
function machineInput(t: Timing) {
  const config = loadConfig(
    {},
    {
      heartbeatIntervalSeconds: t.intervalMs / 1000,
      deadPodThresholdSeconds: t.thresholdMs / 1000,
      heartbeatLatencyBudgetSeconds: t.budgetMs / 1000,
      // Irrelevant here: kept long so they stay out of the way.
      claimIntervalSeconds: 86_400,
      leaderCheckIntervalSeconds: 86_400,
      recoveryIntervalSeconds: 86_400,
      retentionDays: 0,
    },
  );
  return supervisorInputOf(config);
}

/** A supervisor on a simulated clock whose heartbeats the property answers by hand. */
function startPod(t: Timing) {
  const register = held<RegisterOutput, RegisterInput>();
  const beats = held<HeartbeatOutput, PodInput>();
  const machine = providePodActors({
    register: register.logic,
    claimSteps: answering<ClaimStepsOutput, ClaimStepsInput>(() => []).logic,
    markDown: answering<void, PodInput>(() => undefined).logic,
    heartbeat: beats.logic,
    checkLeader: answering<CheckLeaderOutput, PodInput>(() => ({ isLeader: false, leaderId: 'pod-elder', leaderLapsesInMs: null })).logic,
    recover: answering<RecoveryReport, RecoverInput>((r) => ({
      dryRun: r.dryRun,
      deadPods: [],
      orphanedSteps: [],
      requeued: [],
      deadLettered: [],
      durationMs: 0,
    })).logic,
    prune: answering<PruneReport, PruneInput>(() => ({ steps: 0, events: 0, pods: 0 })).logic,
    runStep: stepActors((): ReportStepOutput => ({ outcome: 'completed' })).logic,
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { clock, input: machineInput(t) });
  const fences: number[] = [];
  const errors: unknown[] = [];
  actor.on('*', (fact: PodFact) => {
    if (fact.type === 'pod.fenced') fences.push(clock.now());
  });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  return { actor, clock, register, beats, fences, errors };
}

/** One beat's latency: event-loop delay before it starts + statement time, with the commit somewhere in the statement. */
const beatLatency = (budgetMs: number) =>
  fc
    .record({
      total: fc.oneof(fc.constant(budgetMs - 1), fc.integer({ min: 0, max: budgetMs - 1 })),
      loopShare: fc.double({ min: 0, max: 1, noNaN: true }),
      commitAt: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ total, loopShare, commitAt }) => {
      const loopDelay = Math.floor(total * loopShare);
      const statement = total - loopDelay;
      return { loopDelay, statement, commitAfter: loopDelay + Math.floor(statement * commitAt) };
    });

const SEED = testSeed();

function check<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<Ts>, numRuns: number): Promise<void> {
  return fc.assert(property, { seed: SEED, numRuns }).catch((err: unknown) => {
    throw new Error(`liveness property failed with FLEET_Q_TEST_SEED=${SEED}\n${String(err)}`);
  });
}

describe('liveness over every accepted configuration (simulated clock)', () => {
  it('the configurations generated are exactly ones the schema accepts', () => {
    fc.assert(
      fc.property(accepted, (t) => void machineInput(t)),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('a pod whose beats commit within the budget never fences itself', async () => {
    const property = fc.asyncProperty(
      accepted.chain((t) => fc.tuple(fc.constant(t), fc.array(beatLatency(t.budgetMs), { minLength: 1, maxLength: 12 }))),
      async ([t, latencies]) => {
        const pod = startPod(t);
        pod.register.last().resolve({ podId: 'pod-a-00000001' });
        await flush();
        for (const [i, beat] of latencies.entries()) {
          // The beat falls due one interval after the last confirmation and starts loopDelay late.
          pod.clock.increment(t.intervalMs + beat.loopDelay);
          await flush();
          expect(pod.beats.calls).toHaveLength(i + 1);
          pod.clock.increment(beat.statement);
          pod.beats.last().resolve({ ok: true });
          await flush();
          expect(pod.fences).toEqual([]);
        }
        expect(pod.actor.getSnapshot().context.incarnation).toBe(1);
        expect(pod.errors).toEqual([]);
        pod.actor.stop();
      },
    );
    await check(property, 150);
  });

  it('a pod whose beats stop fences before its last committed heartbeat + threshold', async () => {
    const property = fc.asyncProperty(
      accepted.chain((t) =>
        fc.tuple(
          fc.constant(t),
          fc.array(beatLatency(t.budgetMs), { minLength: 0, maxLength: 5 }),
          // Lateness of the fence timer itself, taken from what the last beat left of the budget.
          fc.double({ min: 0, max: 1, noNaN: true }),
          // Each failing beat: hangs (null) or fails after this share of an interval.
          fc.array(fc.option(fc.double({ min: 0, max: 3, noNaN: true }), { nil: null }), { minLength: 1, maxLength: 8 }),
        ),
      ),
      async ([t, good, fenceLateShare, failures]) => {
        const pod = startPod(t);
        // Registration committed `postCommit` before its answer was handled.
        const registration = good.length === 0 ? { commitAfter: 0, total: t.budgetMs - 1 } : { commitAfter: 0, total: 0 };
        pod.clock.increment(registration.total);
        pod.register.last().resolve({ podId: 'pod-a-00000001' });
        await flush();
        let lastCommit = 0;
        let postCommit = registration.total - registration.commitAfter;
        for (const beat of good) {
          pod.clock.increment(t.intervalMs + beat.loopDelay);
          await flush();
          const started = pod.clock.now() - beat.loopDelay;
          lastCommit = started + beat.commitAfter;
          pod.clock.increment(beat.statement);
          pod.beats.last().resolve({ ok: true });
          await flush();
          postCommit = pod.clock.now() - lastCommit;
        }
        expect(pod.fences).toEqual([]);
        const fenceLate = Math.floor((t.budgetMs - 1 - postCommit) * fenceLateShare);
        // The last moment the fence may happen (+ its own lateness) before others may declare the pod dead.
        const deadline = lastCommit + t.thresholdMs - 1 - fenceLate;
        let answered = pod.beats.calls.length;
        for (const failure of failures) {
          if (pod.clock.now() >= deadline) break;
          const due = Math.min(deadline, pod.clock.now() + t.intervalMs);
          pod.clock.set(due);
          await flush();
          for (const call of pod.beats.calls.slice(answered)) {
            answered++;
            if (failure === null) continue; // hangs
            pod.clock.set(Math.min(deadline, pod.clock.now() + Math.floor(failure * t.intervalMs)));
            call.reject(new Error('database unreachable'));
            await flush();
          }
        }
        if (pod.clock.now() < deadline) pod.clock.set(deadline);
        await flush();
        expect(pod.fences).toHaveLength(1);
        expect(pod.fences[0]!).toBeLessThanOrEqual(deadline);
        expect(pod.errors).toEqual([]);
        pod.actor.stop();
      },
    );
    await check(property, 150);
  });
});
