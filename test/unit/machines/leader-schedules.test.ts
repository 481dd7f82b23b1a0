/**
 * The leader machine's schedule rounds on a simulated clock: a new leader runs one at once, then
 * again when the round says the next tick falls; a failed round is retried after at most 1 s; a round
 * that says nothing fires again stops; a follower never runs one.
 */
import { describe, expect, it } from 'vitest';
import {
  leaderMachine,
  type CheckLeaderOutput,
  type EnqueueSchedulesOutput,
  type PodInput,
  type PruneInput,
  type PruneReport,
  type RecoverInput,
  type RecoveryReport,
} from '../../../machines/index.js';
import { flush, held, underParent } from './harness.js';

const podId = 'pod-a-00000001';
const input = { podId, leaderCheckIntervalMs: 5_000, recoveryIntervalMs: 60_000, pruneIntervalMs: 70_000, retentionMs: 0 };

function start() {
  const checks = held<CheckLeaderOutput, PodInput>();
  const rounds = held<EnqueueSchedulesOutput, PodInput>();
  const sweeps = held<RecoveryReport, RecoverInput>();
  const prunes = held<PruneReport, PruneInput>();
  const run = underParent(
    leaderMachine.provide({ actors: { checkLeader: checks.logic, recover: sweeps.logic, prune: prunes.logic, enqueueSchedules: rounds.logic } }),
    input,
  );
  const answerCheck = async (answer: CheckLeaderOutput) => {
    checks.last().resolve(answer);
    await flush();
  };
  const scheduling = () => ((run.child.getSnapshot().value as { role: { leader?: { scheduling: unknown } } }).role.leader ?? null)?.scheduling;
  return { ...run, checks, rounds, answerCheck, scheduling };
}

describe('leader machine: schedule rounds', () => {
  it('a follower never runs a round', async () => {
    const l = start();
    await l.answerCheck({ isLeader: false, leaderId: 'pod-0-00000000' });
    l.clock.increment(5_000);
    await l.answerCheck({ isLeader: false, leaderId: 'pod-0-00000000' });
    expect(l.rounds.calls).toHaveLength(0);
  });

  it('runs a round when elected, then when the round says the next tick falls', async () => {
    const l = start();
    await l.answerCheck({ isLeader: true, leaderId: podId });
    expect(l.rounds.calls).toHaveLength(1);
    expect(l.rounds.last().input).toEqual({ podId });
    l.rounds.last().resolve({ nextInMs: 750 });
    await flush();
    expect(l.scheduling()).toBe('waiting');
    l.clock.increment(749);
    await flush();
    expect(l.rounds.calls).toHaveLength(1);
    l.clock.increment(1);
    await flush();
    expect(l.rounds.calls).toHaveLength(2);
  });

  it('retries a failed round after 1 s; stops when no schedule fires again', async () => {
    const l = start();
    await l.answerCheck({ isLeader: true, leaderId: podId });
    l.rounds.last().reject(new Error('database down'));
    await flush();
    l.clock.increment(999);
    await flush();
    expect(l.rounds.calls).toHaveLength(1);
    l.clock.increment(1);
    await flush();
    expect(l.rounds.calls).toHaveLength(2);
    l.rounds.last().resolve({ nextInMs: null });
    await flush();
    expect(l.scheduling()).toBe('idle');
    l.clock.increment(60_000);
    await flush();
    expect(l.rounds.calls).toHaveLength(2);
  });

  it('losing leadership stops the round in flight and the rounds after it', async () => {
    const l = start();
    await l.answerCheck({ isLeader: true, leaderId: podId });
    l.clock.increment(5_000);
    await l.answerCheck({ isLeader: false, leaderId: 'pod-0-00000000' });
    expect(l.rounds.live()).toHaveLength(0);
    l.clock.increment(2_000);
    await flush();
    expect(l.rounds.calls).toHaveLength(1);
  });
});
