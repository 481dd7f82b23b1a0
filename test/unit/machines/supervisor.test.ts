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
  slotIdsOf,
  type ReportStepInput,
  type StepOutcome,
} from '../../../machines/index.js';
import { answering, claimedStep, flush, held, stepActors } from './harness.js';

const input = {
  capacity: 3,
  heartbeatIntervalMs: 1_000,
  fenceWindowMs: 3_000,
  claimIntervalMs: 2_000,
  leaderCheckIntervalMs: 10_000,
  recoveryIntervalMs: 60_000,
  pruneIntervalMs: 3_600_000,
  retentionMs: 0,
  shutdownGraceMs: 4_000,
  registerRetryDelayMs: 1_000,
  reportRetryDelayMs: 100,
};

const outcomeOf = (r: ReportStepInput): StepOutcome => (r.report.kind === 'complete' ? 'completed' : r.report.kind === 'fail' ? 'retried' : 'released');

function startPod(overrides: Partial<typeof input> & { claimMinBatch?: number } = {}) {
  const register = held<RegisterOutput, RegisterInput>();
  const claims = held<ClaimStepsOutput, ClaimStepsInput>();
  // Beats are confirmed unless a test sets `beatAnswer` to miss (throw) or report the row down.
  const beatControl = { answer: (): HeartbeatOutput => ({ ok: true }) };
  const beats = answering<HeartbeatOutput, PodInput>(() => beatControl.answer());
  const markDown = answering<void, PodInput>(() => undefined);
  const reports = { inputs: [] as ReportStepInput[] };
  const handler = stepActors((r) => {
    reports.inputs.push(r);
    return { outcome: outcomeOf(r) };
  });
  const machine = providePodActors({
    register: register.logic,
    claimSteps: claims.logic,
    markDown: markDown.logic,
    heartbeat: beats.logic,
    checkLeader: answering<CheckLeaderOutput, PodInput>(() => ({ isLeader: false, leaderId: 'pod-elder' })).logic,
    recover: answering<RecoveryReport, RecoverInput>((r) => ({
      dryRun: r.dryRun,
      deadPods: [],
      orphanedSteps: [],
      requeued: [],
      deadLettered: [],
      durationMs: 0,
    })).logic,
    prune: answering<PruneReport, PruneInput>(() => ({ steps: 0, events: 0, pods: 0 })).logic,
    runStep: handler.logic,
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { clock, input: { ...input, ...overrides } });
  const facts: PodFact[] = [];
  const errors: unknown[] = [];
  actor.on('*', (fact) => void facts.push(fact));
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();

  const pod = {
    actor,
    clock,
    register,
    claims,
    beats,
    beatControl,
    markDown,
    reports,
    handler,
    facts,
    errors,
    value: () => actor.getSnapshot().value,
    context: () => actor.getSnapshot().context,
    /** slot id → step id of the busy slots, read from the slots themselves. */
    busy: () => {
      const children = actor.getSnapshot().children as Record<string, { getSnapshot(): { context: { step: { stepId: string } | null } } } | undefined>;
      const entries = Object.entries(children).filter(([id]) => id.startsWith('slot-'));
      return Object.fromEntries(
        entries.flatMap(([id, ref]) => {
          const step = ref?.getSnapshot().context.step;
          return step ? [[id, step.stepId]] : [];
        }),
      );
    },
    factTypes: () => facts.map((f) => f.type).filter((t) => !t.startsWith('heartbeat.') && !t.startsWith('leader.')),
    async registerAs(podId: string) {
      register.last().resolve({ podId });
      await flush();
    },
    async claimed(...stepIds: string[]) {
      claims.last().resolve(stepIds.map((id) => claimedStep(id, { timeoutMs: 600_000 })));
      await flush();
    },
    async finish(stepId: string) {
      handler.of(stepId).settle({ type: 'handler.succeeded', result: stepId });
      await flush();
    },
    /** Ends the event-loop turn: a claim that waits for the slots freed in it starts now. */
    async endTurn() {
      clock.increment(0);
      await flush();
    },
    /** Lets `ms` pass in 1 s ticks, so every beat due is answered on time. */
    async advance(ms: number) {
      for (let t = 0; t < ms; t += 1_000) {
        clock.increment(1_000);
        await flush();
      }
    },
  };
  return pod;
}

describe('supervisor machine', () => {
  it('registers, then claims for every idle slot and assigns the claimed steps to slots', async () => {
    const pod = startPod();
    expect(pod.value()).toBe('registering');
    expect(pod.register.last().input).toEqual({ incarnation: 1, previousPodId: null });
    await pod.registerAs('pod-a-00000001');
    expect(pod.claims.calls).toHaveLength(1);
    expect(pod.claims.last().input).toEqual({ podId: 'pod-a-00000001', limit: 3 });

    await pod.claimed('s1', 's2');
    expect(pod.handler.runs.map((r) => [r.input.podId, r.input.step.stepId])).toEqual([
      ['pod-a-00000001', 's1'],
      ['pod-a-00000001', 's2'],
    ]);
    expect(pod.busy()).toEqual({ 'slot-0': 's1', 'slot-1': 's2' });
    expect(slotIdsOf(pod.context().idleSlots)).toEqual(['slot-2']);
    expect(pod.context()).toMatchObject({ idleCount: 1, inFlight: 2 });
    expect(pod.value()).toEqual({ registered: { running: 'waiting' } });
    expect(pod.factTypes()).toEqual(['pod.registered', 'claim.completed']);
    expect(pod.facts[1]).toEqual({ type: 'claim.completed', podId: 'pod-a-00000001', limit: 3, stepIds: ['s1', 's2'] });
    expect(pod.errors).toEqual([]);
  });

  it('keeps at most one claim in flight and follows up exactly once with the slots freed meanwhile', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2', 's3');
    await pod.finish('s1'); // frees slot-0: at the end of the turn, a claim for 1 starts
    expect(pod.claims.calls).toHaveLength(1);
    await pod.endTurn();
    expect(pod.claims.calls).toHaveLength(2);
    expect(pod.claims.last().input.limit).toBe(1);

    await pod.finish('s2');
    await pod.finish('s3');
    pod.actor.send({ type: 'work.available' });
    await pod.advance(10_000);
    expect(pod.claims.calls).toHaveLength(2); // still one in flight

    await pod.claimed('s4'); // takes slot-0; slots 1 and 2 freed meanwhile
    expect(pod.claims.calls).toHaveLength(3);
    expect(pod.claims.last().input.limit).toBe(2);
    await pod.claimed();
    expect(pod.claims.calls).toHaveLength(3); // exactly one follow-up
    expect(pod.value()).toEqual({ registered: { running: 'waiting' } });
    pod.clock.increment(2_000); // then the poll interval
    expect(pod.claims.calls).toHaveLength(4);
  });

  it('never claims more than the idle slots; a full pod does not poll', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2', 's3');
    for (let i = 0; i < 5; i++) {
      pod.actor.send({ type: 'work.available' });
      await pod.advance(2_000);
    }
    expect(pod.claims.calls).toHaveLength(1);
    await pod.finish('s2');
    await pod.endTurn();
    expect(pod.claims.last().input).toEqual({ podId: 'pod-a', limit: 1 });
    await pod.claimed('s4');
    expect(pod.busy()).toEqual({ 'slot-0': 's1', 'slot-2': 's3', 'slot-1': 's4' });
    expect(pod.context()).toMatchObject({ idleCount: 0, inFlight: 3, idleSlots: null });
    const limits = pod.claims.calls.map((c) => c.input.limit);
    expect(limits).toEqual([3, 1]);
  });

  it('slots freed in one turn are claimed together, by one claim at the end of the turn', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2', 's3');
    // One completion batch answers s1 and s2 together: each frees its slot with its own event.
    pod.handler.of('s1').settle({ type: 'handler.succeeded', result: 's1' });
    pod.handler.of('s2').settle({ type: 'handler.succeeded', result: 's2' });
    await flush();
    expect(pod.context()).toMatchObject({ idleCount: 2, inFlight: 1 });
    expect(pod.value()).toEqual({ registered: { running: 'gathering' } });
    expect(pod.claims.calls).toHaveLength(1);
    await pod.endTurn();
    expect(pod.claims.calls).toHaveLength(2);
    expect(pod.claims.last().input).toEqual({ podId: 'pod-a', limit: 2 });
    await pod.claimed('s4', 's5');
    expect(pod.claims.calls).toHaveLength(2); // no follow-up: nothing freed during the claim
    expect(pod.busy()).toEqual({ 'slot-1': 's4', 'slot-0': 's5', 'slot-2': 's3' });
    expect(pod.errors).toEqual([]);
  });

  it('batched claims: a busy pod claims once claimMinBatch slots are idle, asking for every slot freed in that turn', async () => {
    const pod = startPod({ capacity: 4, claimMinBatch: 2 });
    await pod.registerAs('pod-a');
    expect(pod.claims.last().input.limit).toBe(4); // nothing running: any idle slot is worth a claim
    await pod.claimed('s1', 's2', 's3', 's4');
    await pod.finish('s1');
    pod.actor.send({ type: 'work.available' });
    await flush();
    expect(pod.claims.calls).toHaveLength(1); // one idle slot, three running: wait for the batch
    await pod.finish('s2');
    pod.clock.increment(0); // the end of the turn the slot freed in
    await flush();
    expect(pod.claims.calls).toHaveLength(2);
    expect(pod.claims.last().input.limit).toBe(2);
    await pod.claimed();
    // Two steps finishing together free their slots in one turn: one claim asks for both.
    pod.handler.of('s3').settle({ type: 'handler.succeeded', result: 's3' });
    pod.handler.of('s4').settle({ type: 'handler.succeeded', result: 's4' });
    await flush();
    pod.clock.increment(0);
    await flush();
    expect(pod.claims.calls).toHaveLength(3);
    expect(pod.claims.last().input.limit).toBe(4);
    expect(pod.errors).toEqual([]);
  });

  it('batched claims: the claim-interval poll still fills a single idle slot while the others run', async () => {
    const pod = startPod({ capacity: 3, claimMinBatch: 2 });
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2', 's3');
    await pod.finish('s1');
    expect(pod.claims.calls).toHaveLength(1);
    pod.clock.increment(2_000);
    await flush();
    expect(pod.claims.calls).toHaveLength(2);
    expect(pod.claims.last().input.limit).toBe(1);
  });

  it('fails loudly when claimSteps breaks its limit, rather than strand a claimed step', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2', 's3', 's4');
    expect(pod.errors).toHaveLength(1);
    expect(String(pod.errors[0])).toContain('claimSteps returned 4 steps for 3 idle slots');
  });

  it('polls every claim interval while idle, and wakes at once on work.available', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed();
    pod.clock.increment(1_999);
    expect(pod.claims.calls).toHaveLength(1);
    pod.clock.increment(1);
    expect(pod.claims.calls).toHaveLength(2);
    await pod.claimed();
    pod.actor.send({ type: 'work.available' });
    expect(pod.claims.calls).toHaveLength(3);
  });

  it('a failed claim is published and retried at the next interval', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    pod.claims.last().reject(new Error('SQLITE_BUSY'));
    await flush();
    expect(pod.facts.at(-1)).toEqual({ type: 'claim.failed', podId: 'pod-a', error: 'SQLITE_BUSY' });
    pod.clock.increment(2_000);
    expect(pod.claims.calls).toHaveLength(2);
  });

  it('runs no claim polls while the store pushes every change, and polls again once its listener drops', async () => {
    const pod = startPod();
    pod.actor.send({ type: 'work.watch', listening: true });
    await pod.registerAs('pod-a');
    await pod.claimed();
    await pod.advance(20_000);
    expect(pod.claims.calls).toHaveLength(1); // only the start-up claim
    pod.actor.send({ type: 'work.available' });
    expect(pod.claims.calls).toHaveLength(2); // wake-ups still claim at once
    await pod.claimed();
    await pod.advance(20_000);
    expect(pod.claims.calls).toHaveLength(2);

    pod.actor.send({ type: 'work.watch', listening: false });
    expect(pod.claims.calls).toHaveLength(3); // catch up on what the dead listener missed
    await pod.claimed();
    pod.clock.increment(2_000);
    expect(pod.claims.calls).toHaveLength(4); // and poll again
  });

  it('while listening, a failed claim is still retried at the next interval', async () => {
    const pod = startPod();
    pod.actor.send({ type: 'work.watch', listening: true });
    await pod.registerAs('pod-a');
    pod.claims.last().reject(new Error('SQLITE_BUSY'));
    await flush();
    pod.clock.increment(2_000);
    expect(pod.claims.calls).toHaveLength(2);
    await pod.claimed();
    await pod.advance(10_000);
    expect(pod.claims.calls).toHaveLength(2); // a claim that worked ends the polling
  });

  it('drain: stops claiming, lets running steps finish, marks the pod down and stops', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2');
    pod.actor.send({ type: 'drain' });
    expect(pod.value()).toEqual({ registered: { draining: 'finishing' } });
    await pod.finish('s1');
    pod.actor.send({ type: 'work.available' });
    pod.clock.increment(2_000);
    await pod.finish('s2');
    expect(pod.claims.calls).toHaveLength(1);
    expect(pod.markDown.inputs).toEqual([{ podId: 'pod-a' }]);
    expect(pod.actor.getSnapshot().status).toBe('done');
    expect(pod.factTypes()).toEqual(['pod.registered', 'claim.completed', 'drain.started', 'slot.freed', 'slot.freed', 'pod.stopped']);
    expect(pod.reports.inputs.map((r) => r.report.kind)).toEqual(['complete', 'complete']);
  });

  it('drain: after the grace, aborts busy steps, releases them, then marks down; heartbeats continue meanwhile', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2');
    pod.actor.send({ type: 'drain' });
    await pod.finish('s1');
    await pod.advance(3_000);
    expect(pod.beats.inputs).toHaveLength(3); // the drain did not stop the heartbeat
    expect(pod.handler.of('s2').aborts).toEqual([]);
    await pod.advance(1_000); // grace (4 s) over
    expect(pod.handler.of('s2').aborts).toEqual(['drain']);
    expect(pod.reports.inputs.at(-1)).toEqual({ podId: 'pod-a', stepId: 's2', attempt: 1, report: { kind: 'release' } });
    expect(pod.actor.getSnapshot().status).toBe('done');
    expect(pod.factTypes()).toEqual(['pod.registered', 'claim.completed', 'drain.started', 'slot.freed', 'drain.grace_expired', 'slot.freed', 'pod.stopped']);
    expect(pod.facts.find((f) => f.type === 'slot.freed' && f.stepId === 's2')).toMatchObject({ outcome: 'released' });
    expect(pod.handler.of('s2').stopped).toBe(true);
  });

  it('a drain during a claim waits for it and runs what it claimed', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    pod.actor.send({ type: 'drain' });
    expect(pod.value()).toEqual({ registered: { running: 'claiming' } });
    await pod.claimed('s1');
    expect(pod.value()).toEqual({ registered: { draining: 'finishing' } });
    expect(pod.handler.of('s1').input.step.stepId).toBe('s1');
    await pod.finish('s1');
    expect(pod.actor.getSnapshot().status).toBe('done');
    expect(pod.claims.calls).toHaveLength(1);
  });

  it('heartbeat lost: fences, aborts steps without writing, re-registers as a new pod and claims only idle slots', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1', 's2');
    pod.beatControl.answer = () => {
      throw new Error('database unreachable');
    };
    await pod.advance(3_000);
    expect(pod.facts).toContainEqual({ type: 'heartbeat.lost', podId: 'pod-a', reason: 'deadline' });
    expect(pod.facts).toContainEqual({ type: 'pod.fenced', podId: 'pod-a', inFlight: 2 });
    expect(pod.handler.of('s1').aborts).toEqual(['fenced']);
    expect(pod.handler.of('s2').aborts).toEqual(['fenced']);
    expect(pod.reports.inputs).toEqual([]);
    expect(pod.value()).toBe('registering');
    expect(pod.register.last().input).toEqual({ incarnation: 2, previousPodId: 'pod-a' }); // retired in the same registration

    await pod.registerAs('pod-b');
    expect(pod.claims.last().input).toEqual({ podId: 'pod-b', limit: 1 }); // s1 and s2 have not settled
    await pod.claimed('s3');
    expect(pod.handler.of('s3').input.podId).toBe('pod-b');
    await pod.finish('s1');
    expect(pod.facts).toContainEqual({ type: 'slot.freed', slotId: 'slot-0', stepId: 's1', outcome: 'stale' });
    expect(pod.claims.last().input).toEqual({ podId: 'pod-b', limit: 1 });
    expect(pod.reports.inputs).toEqual([]);
    expect(pod.errors).toEqual([]);
  });

  it('a claim refused with pod_fenced fences at once', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    pod.claims.last().reject(Object.assign(new Error('pod pod-a is not registered as up'), { code: 'pod_fenced' }));
    await flush();
    expect(pod.facts.map((f) => f.type)).toContain('pod.fenced');
    expect(pod.value()).toBe('registering');
  });

  it('retries registration after a failure, and a drain before registration just stops', async () => {
    const pod = startPod();
    pod.register.last().reject(new Error('no such table: pod_health'));
    await flush();
    expect(pod.value()).toBe('waitingToRegister');
    expect(pod.facts).toEqual([{ type: 'pod.register_failed', incarnation: 1, error: 'no such table: pod_health' }]);
    pod.clock.increment(1_000);
    expect(pod.register.calls).toHaveLength(2);
    pod.actor.send({ type: 'drain' });
    expect(pod.actor.getSnapshot().status).toBe('done');
    expect(pod.markDown.inputs).toEqual([]);
  });

  it('fenced while draining: stops instead of registering again', async () => {
    const pod = startPod();
    await pod.registerAs('pod-a');
    await pod.claimed('s1');
    pod.actor.send({ type: 'drain' });
    pod.beatControl.answer = () => ({ ok: false });
    await pod.advance(1_000);
    expect(pod.actor.getSnapshot().status).toBe('done');
    expect(pod.register.calls).toHaveLength(1);
    expect(pod.handler.of('s1').aborts).toEqual(['fenced']);
  });

  it('forwards recovery.run to the leader machine, and refuses it while unregistered', async () => {
    const pod = startPod();
    pod.actor.send({ type: 'recovery.run', requestId: 'r0', force: false, dryRun: false });
    expect(pod.facts).toEqual([{ type: 'recovery.refused', requestId: 'r0', reason: 'unavailable' }]);
    await pod.registerAs('pod-a');
    await flush();
    pod.actor.send({ type: 'recovery.run', requestId: 'r1', force: false, dryRun: false });
    expect(pod.facts.at(-1)).toEqual({ type: 'recovery.refused', requestId: 'r1', reason: 'not_leader' });
    pod.actor.send({ type: 'recovery.run', requestId: 'r2', force: true, dryRun: true });
    await flush();
    expect(pod.facts.at(-1)).toMatchObject({ type: 'recovery.completed', requestId: 'r2' });
  });
});
