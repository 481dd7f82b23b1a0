/**
 * SIGKILL on Snowflake, worker then leader in one run: three pods drain 200 `record` steps; a worker
 * holding claims is killed, then the leader. Every step completes exactly once, every claim a killed
 * pod held is `recovered` by a survivor that was leading at the time, and the last pod leads at the
 * end. Timings are Snowflake's (heartbeat 1 s, dead after 10 s: a statement may take a second or two),
 * so the bounds differ from scenarios/sigkill.ts; the audit checks (audit.ts) are the same.
 */
import { expect } from 'vitest';
import { allEvents, byStep, claimsLeftBy, completionOf, exactlyOnceProblems, readExecutions, stepRows, unexecutedCompletions } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { eldestFirst, startPods, type PodProcess } from '../harness.js';
import { getJson, submitBatch } from '../http.js';
import { waitFor } from '../../support/wait.js';
import { recordSteps } from './sigkill.js';

/**
 * Snowflake-sized timings: a 5.5 s fence window ((1 + 10) / 2) and a 4 s latency budget, for 1–2 s
 * statements and an emulator slowed by a loaded machine.
 */
export const SNOWFLAKE_TIMING_ENV: Readonly<Record<string, string>> = {
  FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1',
  FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '10',
  FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS: '1',
  FLEET_Q_RECOVERY_INTERVAL_SECONDS: '1',
  FLEET_Q_CLAIM_INTERVAL_SECONDS: '1',
  FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '4',
};

const STEP_COUNT = 200;

async function killHolding(reader: Awaited<ReturnType<QueueDatabase['openReader']>>, victim: PodProcess): Promise<number> {
  await waitFor(
    `${victim.name} to hold at least 2 claims`,
    async () => ((await reader.queueStats()).pods.find((p) => p.podId.startsWith(`${victim.name}-`))?.claimed ?? 0) >= 2,
    {
      timeoutMs: 60_000,
      intervalMs: 100,
    },
  );
  const killedAt = Date.now();
  victim.signal('SIGKILL');
  expect(await victim.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
  return killedAt;
}

export async function sigkillWorkerThenLeaderScenario(cli: string, queue: QueueDatabase): Promise<void> {
  const pods = await startPods({ cli, queue, env: SNOWFLAKE_TIMING_ENV }, ['sf-1', 'sf-2', 'sf-3']);
  const reader = await queue.openReader();
  await waitFor('three live pods', async () => (await reader.leaderGet()).livePods.length === 3, { timeoutMs: 30_000, intervalMs: 200 });
  const [leader, heir, worker] = await eldestFirst(reader, pods);
  const stepIds = await submitBatch(heir!.baseUrl, recordSteps(STEP_COUNT, 200, 600));

  await killHolding(reader, worker!);
  await killHolding(reader, leader!);
  await waitFor(`${heir!.name} to lead`, async () => String((await getJson(heir!.baseUrl, '/admin/leader')).body.current_leader).startsWith(`${heir!.name}-`), {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  await waitFor(`all ${STEP_COUNT} steps to complete`, async () => (await reader.queueStats()).completed === STEP_COUNT, {
    timeoutMs: 180_000,
    intervalMs: 500,
  });
  // On Snowflake a write's audit event is owed by its row and copied to step_events by the writer's
  // next statement (or the sweep, for a pod that died), so the trail may trail the rows briefly.
  await waitFor(
    `the ${STEP_COUNT} completed events in the trail`,
    async () => (await allEvents(reader)).filter((e) => e.kind === 'completed').length >= STEP_COUNT,
    {
      timeoutMs: 60_000,
      intervalMs: 500,
    },
  );

  const trail = await allEvents(reader);
  const events = byStep(trail);
  expect(exactlyOnceProblems(events, stepIds)).toEqual([]);
  expect(unexecutedCompletions(events, stepIds, readExecutions(queue.executionLog))).toEqual([]);
  // A pod whose heartbeat outran its fence window under load re-registers under a new id, so each
  // process is known by its name: every incarnation of a killed process is checked.
  const podRows = await reader.podList();
  const namesOf = new Map(podRows.map((p) => [p.podId, p.name]));
  for (const victim of [worker!, leader!]) {
    const incarnations = podRows.filter((p) => p.name === victim.name);
    const held = new Map<string, { attempt: number; podId: string }>();
    for (const { podId } of incarnations) for (const [stepId, attempt] of claimsLeftBy(trail, podId)) held.set(stepId, { attempt, podId });
    expect(held.size, `${victim.name} held claims when killed`).toBeGreaterThan(0);
    for (const [stepId, { attempt, podId }] of held) {
      const recovered = (events.get(stepId) ?? []).filter((e) => e.kind === 'recovered');
      expect(recovered, `${stepId} held by ${podId}`).toHaveLength(1);
      expect(recovered[0]).toMatchObject({ attempt, detail: { reason: 'pod_dead', error: `claim held by dead pod ${podId}`, retry_count: 1 } });
      expect([leader!.name, heir!.name]).toContain(namesOf.get(recovered[0]!.podId ?? ''));
      expect(namesOf.get(completionOf(events, stepId).podId ?? '')).not.toBe(victim.name);
    }
    for (const incarnation of incarnations) expect(incarnation, `${incarnation.podId} of ${victim.name}`).toMatchObject({ status: 'down', live: false });
  }
  for (const [stepId, row] of await stepRows(reader, stepIds)) {
    const completed = completionOf(events, stepId);
    expect(row).toMatchObject({ status: 'completed', claimedBy: completed.podId, attempt: completed.attempt });
  }
}
