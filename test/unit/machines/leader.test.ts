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

const podId = 'pod-a-00000001';
const input = { podId, leaderCheckIntervalMs: 1_000, recoveryIntervalMs: 5_000, pruneIntervalMs: 7_000, retentionMs: 86_400_000 };
const report: RecoveryReport = { dryRun: false, deadPods: ['pod-b'], orphanedSteps: ['s1'], requeued: ['s1'], deadLettered: [], durationMs: 3 };
const leads: CheckLeaderOutput = { isLeader: true, leaderId: podId };
const follows: CheckLeaderOutput = { isLeader: false, leaderId: 'pod-0-00000000' };

function start(overrides: Partial<typeof input> = {}) {
  const checks = held<CheckLeaderOutput, PodInput>();
  const sweeps = held<RecoveryReport, RecoverInput>();
  const prunes = held<PruneReport, PruneInput>();
  const run = underParent(leaderMachine.provide({ actors: { checkLeader: checks.logic, recover: sweeps.logic, prune: prunes.logic } }), {
    ...input,
    ...overrides,
  });
  const answerCheck = async (answer: CheckLeaderOutput) => {
    checks.last().resolve(answer);
    await flush();
  };
  return { ...run, checks, sweeps, prunes, answerCheck, role: () => (run.child.getSnapshot().value as { role: unknown }).role };
}

describe('leader machine', () => {
  it('checks at start and every interval; a follower never sweeps or prunes', async () => {
    const l = start();
    expect(l.checks.calls).toHaveLength(1);
    expect(l.checks.last().input).toEqual({ podId });
    await l.answerCheck(follows);
    expect(l.role()).toEqual({ follower: 'waiting' });
    expect(l.child.getSnapshot().context.leaderId).toBe(follows.leaderId);
    for (let i = 0; i < 20; i++) {
      l.clock.increment(1_000);
      await l.answerCheck(follows);
    }
    expect(l.checks.calls).toHaveLength(21);
    expect(l.sweeps.calls).toHaveLength(0);
    expect(l.prunes.calls).toHaveLength(0);
    expect(l.facts()).toEqual([]);
  });

  it('when elected, tells the parent, sweeps at once and then every recovery interval', async () => {
    const l = start();
    await l.answerCheck(leads);
    expect(l.facts('leader.elected')).toEqual([{ type: 'leader.elected', podId }]);
    expect(l.sweeps.calls).toHaveLength(1);
    expect(l.sweeps.last().input).toEqual({ podId, dryRun: false });
    l.sweeps.last().resolve(report);
    await flush();
    expect(l.facts('recovery.completed')).toEqual([{ type: 'recovery.completed', requestId: null, report }]);

    for (let t = 1_000; t <= 5_000; t += 1_000) {
      l.clock.increment(1_000);
      await l.answerCheck(leads);
      expect(l.sweeps.calls).toHaveLength(t < 5_000 ? 1 : 2);
    }
    expect(l.facts('leader.elected')).toHaveLength(1); // re-confirmation is not news
  });

  it('losing the election stops sweeps and pruning', async () => {
    const l = start();
    await l.answerCheck(leads);
    l.sweeps.last().resolve(report);
    l.clock.increment(1_000);
    await l.answerCheck(follows);
    expect(l.facts('leader.lost')).toEqual([{ type: 'leader.lost', podId, leaderId: follows.leaderId }]);
    expect(l.role()).toEqual({ follower: 'waiting' });
    for (let i = 0; i < 10; i++) {
      l.clock.increment(1_000);
      await l.answerCheck(follows);
    }
    expect(l.sweeps.calls).toHaveLength(1);
    expect(l.prunes.calls).toHaveLength(0);
  });

  it('a failed check steps a leader down, and leaves a follower waiting', async () => {
    const l = start();
    l.checks.last().reject(new Error('connection reset'));
    await flush();
    expect(l.role()).toEqual({ follower: 'waiting' });
    expect(l.facts()).toEqual([{ type: 'leader.check_failed', podId, error: 'connection reset' }]);

    l.clock.increment(1_000);
    await l.answerCheck(leads);
    l.clock.increment(1_000);
    l.checks.last().reject(new Error('connection reset'));
    await flush();
    expect(l.role()).toEqual({ follower: 'waiting' });
    expect(l.child.getSnapshot().context.isLeader).toBe(false);
    expect(l.facts('leader.lost')).toEqual([{ type: 'leader.lost', podId, leaderId: null }]);
  });

  it('prunes as leader every prune interval with the retention age', async () => {
    const l = start();
    await l.answerCheck(leads);
    for (let i = 0; i < 7; i++) {
      l.clock.increment(1_000);
      await l.answerCheck(leads);
    }
    expect(l.prunes.calls).toHaveLength(1);
    expect(l.prunes.last().input).toEqual({ olderThanMs: input.retentionMs });
    l.prunes.last().resolve({ steps: 4, events: 9, pods: 1 });
    await flush();
    expect(l.facts('prune.completed')).toEqual([{ type: 'prune.completed', report: { steps: 4, events: 9, pods: 1 } }]);
  });

  it('never prunes when retention is 0 (keep everything)', async () => {
    const l = start({ retentionMs: 0 });
    await l.answerCheck(leads);
    for (let i = 0; i < 30; i++) {
      l.sweeps.last().resolve(report);
      l.clock.increment(1_000);
      await l.answerCheck(leads);
    }
    expect(l.prunes.calls).toHaveLength(0);
    expect(l.sweeps.calls.length).toBeGreaterThan(1);
  });

  it('manual runs: one sweep at a time, refused as busy while sweeping and as not_leader for a follower unless forced', async () => {
    const l = start();
    await l.answerCheck(follows);
    l.child.send({ type: 'recovery.run', requestId: 'r1', force: false, dryRun: false });
    expect(l.facts('recovery.refused')).toEqual([{ type: 'recovery.refused', requestId: 'r1', reason: 'not_leader' }]);
    expect(l.sweeps.calls).toHaveLength(0);

    l.child.send({ type: 'recovery.run', requestId: 'r2', force: true, dryRun: true });
    expect(l.sweeps.calls).toHaveLength(1);
    expect(l.sweeps.last().input).toEqual({ podId, dryRun: true });
    l.child.send({ type: 'recovery.run', requestId: 'r3', force: true, dryRun: false });
    expect(l.facts('recovery.refused')).toContainEqual({ type: 'recovery.refused', requestId: 'r3', reason: 'busy' });
    expect(l.sweeps.calls).toHaveLength(1);

    l.sweeps.last().resolve({ ...report, dryRun: true });
    await flush();
    expect(l.facts('recovery.completed')).toEqual([{ type: 'recovery.completed', requestId: 'r2', report: { ...report, dryRun: true } }]);
    l.child.send({ type: 'recovery.run', requestId: 'r4', force: true, dryRun: false });
    l.sweeps.last().reject(new Error('disk I/O error'));
    await flush();
    expect(l.facts('recovery.failed')).toEqual([{ type: 'recovery.failed', requestId: 'r4', error: 'disk I/O error' }]);
  });

  it('as leader, a manual run sweeps now, and a scheduled sweep due during it is skipped', async () => {
    const l = start({ recoveryIntervalMs: 2_000 });
    await l.answerCheck(leads);
    l.sweeps.last().resolve(report);
    await flush();
    l.child.send({ type: 'recovery.run', requestId: 'r1', force: false, dryRun: false });
    expect(l.sweeps.calls).toHaveLength(2);
    l.clock.increment(2_000); // the scheduled sweep is due while r1 still runs
    expect(l.sweeps.calls).toHaveLength(2);
    l.sweeps.last().resolve(report);
    await flush();
    expect(l.facts('recovery.completed').map((e) => e['requestId'])).toEqual([null, 'r1']);
    expect(l.child.getSnapshot().context.sweeps).toBe(2);
  });
});
