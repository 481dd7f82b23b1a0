/**
 * The leader machine re-checks as soon as the leader it was told of would stop being live: a fleet
 * whose leader vanished (killed, or an incarnation that fenced itself) finds the next one within the
 * dead-pod threshold, not a leader-check interval later, and the new leader sweeps at once.
 */
import { describe, expect, it } from 'vitest';
import {
  leaderMachine,
  type CheckLeaderOutput,
  type PodInput,
  type PruneInput,
  type PruneReport,
  type RecoverInput,
  type RecoveryReport,
} from '../../../machines/index.js';
import { flush, held, underParent } from './harness.js';

const podId = 'pod-b-00000002';
// A leader check interval far longer than the threshold, as at 1 s / 3 s with the 60 s default.
const input = { podId, leaderCheckIntervalMs: 60_000, recoveryIntervalMs: 5_000, pruneIntervalMs: 7_000, retentionMs: 0 };

function start() {
  const checks = held<CheckLeaderOutput, PodInput>();
  const sweeps = held<RecoveryReport, RecoverInput>();
  const prunes = held<PruneReport, PruneInput>();
  const run = underParent(leaderMachine.provide({ actors: { checkLeader: checks.logic, recover: sweeps.logic, prune: prunes.logic } }), input);
  const answerCheck = async (answer: CheckLeaderOutput) => {
    checks.last().resolve(answer);
    await flush();
  };
  return { ...run, checks, sweeps, answerCheck };
}

describe('leader machine: re-check when the leader lapses', () => {
  it('a follower re-checks when the leader would lapse, and sweeps at once when it leads then', async () => {
    const l = start();
    await l.answerCheck({ isLeader: false, leaderId: 'pod-a-00000001', leaderLapsesInMs: 2_500 });
    l.clock.increment(2_499);
    expect(l.checks.calls).toHaveLength(1);
    l.clock.increment(1);
    expect(l.checks.calls).toHaveLength(2);
    await l.answerCheck({ isLeader: true, leaderId: podId, leaderLapsesInMs: 3_000 });
    expect(l.facts('leader.elected')).toEqual([{ type: 'leader.elected', podId }]);
    expect(l.sweeps.calls).toHaveLength(1);
  });

  it('a healthy leader that keeps beating is re-checked each time it would lapse, never later than the interval', async () => {
    const l = start();
    for (let i = 0; i < 5; i++) {
      await l.answerCheck({ isLeader: false, leaderId: 'pod-a-00000001', leaderLapsesInMs: 2_000 });
      l.clock.increment(2_000);
      expect(l.checks.calls).toHaveLength(i + 2);
    }
    await l.answerCheck({ isLeader: false, leaderId: 'pod-a-00000001', leaderLapsesInMs: 120_000 });
    l.clock.increment(59_999);
    expect(l.checks.calls).toHaveLength(6);
    l.clock.increment(1);
    expect(l.checks.calls).toHaveLength(7);
    expect(l.sweeps.calls).toHaveLength(0);
  });

  it('without a lapse time (unknown, or after a failed check) waits the leader check interval', async () => {
    const l = start();
    await l.answerCheck({ isLeader: false, leaderId: 'pod-a-00000001', leaderLapsesInMs: 1_000 });
    l.clock.increment(1_000);
    l.checks.last().reject(new Error('database is locked'));
    await flush();
    l.clock.increment(59_999);
    expect(l.checks.calls).toHaveLength(2);
    l.clock.increment(1);
    expect(l.checks.calls).toHaveLength(3);
    await l.answerCheck({ isLeader: false, leaderId: null, leaderLapsesInMs: null });
    l.clock.increment(59_999);
    expect(l.checks.calls).toHaveLength(3);
    l.clock.increment(1);
    expect(l.checks.calls).toHaveLength(4);
  });
});
