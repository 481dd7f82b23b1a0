/**
 * SIGKILL scenario, written once for every store: three pods drain 300 `record` steps (100–300 ms
 * sleeps that log each run); one pod holding claims is killed without warning. Every step must be
 * completed exactly once, the dead pod's claims recovered by the leader and completed elsewhere
 * within RECOVERY_BOUND_MS of the kill; killing the leader must hand leadership to the next eldest.
 * Owns the scenario; the test files choose the store.
 */
import { expect } from 'vitest';
import { allEvents, byStep, claimsLeftBy, completionOf, exactlyOnceProblems, readExecutions, stepRows, unexecutedCompletions } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { eldestFirst, startPods } from '../harness.js';
import { getJson, submitBatch } from '../http.js';
import { RECOVERY_BOUND_MS, TIMING } from '../timing.js';
import { waitFor } from '../../support/wait.js';

const STEP_COUNT = 300;

/** 300 `record` steps sleeping 100–300 ms (a fixed spread, so runs are comparable). */
export function recordSteps(count: number, minMs: number, maxMs: number): { type: string; args: { ms: number } }[] {
  const span = maxMs - minMs + 1;
  return Array.from({ length: count }, (_, i) => ({ type: 'record', args: { ms: minMs + ((i * 37) % span) } }));
}

/** Kills the youngest pod (`follower`) or the leader, and checks recovery, completion and the audit trail. */
export async function sigkillScenario(cli: string, queue: QueueDatabase, victimRole: 'follower' | 'leader'): Promise<void> {
  const pods = await startPods({ cli, queue }, ['e2e-1', 'e2e-2', 'e2e-3']);
  const reader = await queue.openReader();
  const byAge = await eldestFirst(reader, pods);
  expect((await getJson(pods[0]!.baseUrl, '/admin/leader')).body.current_leader).toBe(byAge[0]!.podId);
  const victim = victimRole === 'leader' ? byAge[0]! : byAge[2]!;
  const survivors = byAge.filter((pod) => pod !== victim);
  // The eldest survivor leads after the kill (the leader itself when a follower dies): it sweeps.
  const sweeper = survivors[0]!;

  const stepIds = await submitBatch(survivors[1]!.baseUrl, recordSteps(STEP_COUNT, 100, 300));
  await waitFor(
    `${victim.name} to hold at least 3 claims`,
    async () => ((await reader.queueStats()).pods.find((p) => p.podId === victim.podId)?.claimed ?? 0) >= 3,
    { timeoutMs: 20_000, intervalMs: 10 },
  );

  const killedAt = Date.now();
  victim.signal('SIGKILL');
  expect(await victim.exited).toMatchObject({ code: null, signal: 'SIGKILL' });

  if (victimRole === 'leader') {
    const [heir, other] = survivors as [typeof sweeper, typeof sweeper];
    await waitFor(
      `/admin/leader on ${other.name} to name ${heir.podId}`,
      async () => (await getJson(other.baseUrl, '/admin/leader')).body.current_leader === heir.podId,
      {
        timeoutMs: 20_000,
      },
    );
    await waitFor(`${heir.name} to report is_leader`, async () => (await heir.health()).body.is_leader === true, { timeoutMs: 20_000 });
    expect((await other.health()).body).toMatchObject({ status: 'healthy', is_leader: false });
  }

  await waitFor(`all ${STEP_COUNT} steps to complete`, async () => (await reader.queueStats()).completed === STEP_COUNT, {
    timeoutMs: 90_000,
    intervalMs: 200,
  });
  const stats = await reader.queueStats();
  expect({ pending: stats.pending, claimed: stats.claimed, failed: stats.failed }).toEqual({ pending: 0, claimed: 0, failed: 0 });

  const trail = await allEvents(reader);
  const events = byStep(trail);
  const heldAtKill = claimsLeftBy(trail, victim.podId);
  const orphans = [...heldAtKill.keys()];
  expect(orphans.length).toBeGreaterThan(0);
  expect(exactlyOnceProblems(events, stepIds)).toEqual([]);
  expect(unexecutedCompletions(events, stepIds, readExecutions(queue.executionLog))).toEqual([]);
  // A killed process writes nothing: every event it wrote is older than the kill.
  expect(trail.filter((e) => e.podId === victim.podId && e.ts > killedAt)).toEqual([]);

  const orphanSet = new Set(orphans);
  let slowest = 0;
  for (const stepId of stepIds) {
    const recovered = (events.get(stepId) ?? []).filter((e) => e.kind === 'recovered');
    if (!orphanSet.has(stepId)) {
      expect(recovered, `${stepId} was not held by the killed pod`).toEqual([]);
      continue;
    }
    expect(recovered).toHaveLength(1);
    const event = recovered[0]!;
    expect(event).toMatchObject({ podId: sweeper.podId, attempt: heldAtKill.get(stepId) });
    expect(event.detail).toEqual({ reason: 'pod_dead', error: `claim held by dead pod ${victim.podId}`, retry_count: 1, run_after: expect.any(Number) });
    // Backoff of the first retry: base × U[0.5, 1].
    const backoff = (event.detail['run_after'] as number) - event.ts;
    expect(backoff).toBeGreaterThanOrEqual(TIMING.baseDelayMs / 2);
    expect(backoff).toBeLessThanOrEqual(TIMING.baseDelayMs);
    const completed = completionOf(events, stepId);
    expect(survivors.map((p) => p.podId)).toContain(completed.podId);
    expect(completed.attempt).toBe(heldAtKill.get(stepId)! + 1);
    slowest = Math.max(slowest, completed.ts - killedAt);
  }
  expect(slowest, `the last of ${orphans.length} orphaned steps completed ${slowest} ms after the kill`).toBeLessThanOrEqual(RECOVERY_BOUND_MS);

  const rows = await stepRows(reader, stepIds);
  for (const [stepId, row] of rows) {
    const completed = completionOf(events, stepId);
    expect(row).toMatchObject({ status: 'completed', claimedBy: completed.podId, attempt: completed.attempt, retryCount: orphanSet.has(stepId) ? 1 : 0 });
    expect(row.result).toEqual({ pod_id: completed.podId, attempt: completed.attempt });
  }
  const victimRow = (await reader.podList()).find((p) => p.podId === victim.podId);
  expect(victimRow).toMatchObject({ status: 'down', live: false });
}
