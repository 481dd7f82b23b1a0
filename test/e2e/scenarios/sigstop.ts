/**
 * SIGSTOP scenario, written once for every store: a pod is frozen while it holds claims, past the
 * dead-pod threshold, then woken (SIGCONT). The others recover its steps and complete them; nothing
 * it writes after waking is applied (its late writes appear only as `stale_write_rejected`); and it
 * fences itself and comes back as a new incarnation (DESIGN §3 self-fencing: re-register with a new
 * pod id once the database answers), without exiting.
 *
 * The frozen pod alone registers `spin` (a synchronous busy loop) and is stopped inside it, so when
 * it wakes the first thing it does is finish that handler and send its completion write, before any
 * timer (heartbeat, fence window) can fence it; fencing does not take back a write already sent (on
 * SQLite a busy file may delay its commit, not cancel it). So every run has a late write that must be
 * rejected as stale.
 * Owns the scenario; the test files choose the store.
 */
import { expect } from 'vitest';
import type { StepEvent } from '../../../src/store/store.js';
import { allEvents, byStep, claimsLeftBy, completionOf, exactlyOnceProblems, readExecutions, stepRows, unexecutedCompletions } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { eldestFirst, startPod, waitHealthy } from '../harness.js';
import { submitBatch, submitStep } from '../http.js';
import { waitFor } from '../../support/wait.js';
import { recordSteps } from './sigkill.js';

/** Long enough to be caught inside with a 5 ms poll, well inside the 1.1 s fence window. */
const SPIN_MS = 500;

/** Freezes a follower inside `spin` past the threshold, wakes it, and checks recovery, fencing and the audit trail. */
export async function sigstopScenario(cli: string, queue: QueueDatabase): Promise<void> {
  // The eldest pod leads (and sweeps) and is never stopped; the frozen one is younger and alone runs `spin`.
  const leader = await startPod({ cli, queue, name: 'e2e-1' });
  const [frozen, third] = await Promise.all([startPod({ cli, queue, name: 'e2e-2', env: { E2E_SPIN_STEPS: '1' } }), startPod({ cli, queue, name: 'e2e-3' })]);
  const reader = await queue.openReader();
  expect((await eldestFirst(reader, [frozen, third, leader]))[0]).toBe(leader);
  const oldId = frozen.podId;

  const recordIds = await submitBatch(leader.baseUrl, recordSteps(90, 300, 600));
  await waitFor(`${frozen.name} to hold record claims`, async () => ((await reader.queueStats()).pods.find((p) => p.podId === oldId)?.claimed ?? 0) >= 3, {
    timeoutMs: 20_000,
    intervalMs: 10,
  });
  // Only the frozen pod knows `spin`, so only its API accepts it and only it claims it; the priority
  // puts it ahead of the pending records, so the pod still holds records while it spins.
  const spinId = await submitStep(frozen.baseUrl, { type: 'spin', args: { ms: SPIN_MS }, priority: 10 });
  const spinning = await waitFor(
    'the spin step to start',
    () => readExecutions(queue.executionLog).find((e) => e.step_id === spinId && e.event === 'spinning'),
    { timeoutMs: 20_000, intervalMs: 5 },
  );
  frozen.signal('SIGSTOP');
  expect(spinning).toMatchObject({ attempt: 1, pod_id: oldId, pid: frozen.pid });

  const stepIds = [...recordIds, spinId];

  await waitFor(
    `the claims of frozen ${oldId} to be recovered and its row marked down`,
    async () => {
      const rows = await stepRows(reader, [...claimsLeftBy(await allEvents(reader), oldId).keys()]);
      const pod = (await reader.podList()).find((p) => p.podId === oldId);
      return pod?.status === 'down' && [...rows.values()].every((r) => r.claimedBy !== oldId);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const highWater = (await allEvents(reader)).at(-1)!.eventId;
  const resumedAt = Date.now();
  frozen.signal('SIGCONT');

  const newId = await waitHealthy(frozen, { replacing: oldId });
  expect(newId.startsWith(`${frozen.name}-`)).toBe(true);
  await waitFor(`all ${stepIds.length} steps to complete`, async () => (await reader.queueStats()).completed === stepIds.length, {
    timeoutMs: 90_000,
    intervalMs: 200,
  });
  expect(frozen.exit).toBeNull();
  const pods = await reader.podList();
  expect(pods.find((p) => p.podId === oldId)).toMatchObject({ status: 'down', live: false, name: frozen.name });
  expect(pods.find((p) => p.podId === newId)).toMatchObject({ status: 'up', live: true, name: frozen.name });

  const trail = await allEvents(reader);
  const events = byStep(trail);
  const heldAtStop = claimsLeftBy(trail, oldId);
  const held = [...heldAtStop.keys()];
  expect(held).toContain(spinId);
  expect(held.length).toBeGreaterThan(1);
  const executions = readExecutions(queue.executionLog);
  expect(exactlyOnceProblems(events, stepIds)).toEqual([]);
  expect(unexecutedCompletions(events, stepIds, executions)).toEqual([]);

  // The stop landed inside the spin: the loop ended only after the wake-up.
  const spun = executions.find((e) => e.step_id === spinId && e.event === 'spun' && e.attempt === 1);
  expect(spun, 'SIGSTOP missed the spin window (a harness timing problem, not a pod bug)').toMatchObject({ pod_id: oldId, pid: frozen.pid });
  expect(spun!.ts).toBeGreaterThanOrEqual(resumedAt);

  // Everything the old incarnation wrote after waking was rejected, starting with the spin's completion.
  const late = trail.filter((e) => e.podId === oldId && e.eventId > highWater);
  expect(late.map((e) => e.kind).filter((k) => k !== 'stale_write_rejected')).toEqual([]);
  const staleSpin = late.find((e) => e.stepId === spinId);
  expect(staleSpin).toMatchObject({ kind: 'stale_write_rejected', attempt: 1 });
  // The row as the write found it: recovered (pending), or already claimed again (by the pod's new
  // incarnation, the only one running `spin`) when the write was delayed by a busy database.
  expect([
    { write: 'complete', status: 'pending', claimed_by: null, attempt: 1 },
    { write: 'complete', status: 'claimed', claimed_by: newId, attempt: 2 },
    { write: 'complete', status: 'completed', claimed_by: newId, attempt: 2 },
  ]).toContainEqual(staleSpin!.detail);

  for (const stepId of held) {
    const stepEvents = events.get(stepId) ?? [];
    const recovered = stepEvents.filter((e) => e.kind === 'recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ podId: leader.podId, attempt: heldAtStop.get(stepId) });
    expect(recovered[0]!.detail).toMatchObject({ reason: 'pod_dead', error: `claim held by dead pod ${oldId}`, retry_count: 1 });
    const afterRecovery = stepEvents.filter((e: StepEvent) => e.eventId > recovered[0]!.eventId && e.podId === oldId);
    expect(afterRecovery.map((e) => e.kind).filter((k) => k !== 'stale_write_rejected')).toEqual([]);
    const completed = completionOf(events, stepId);
    expect(completed.podId).not.toBe(oldId);
    expect(completed.attempt).toBe(heldAtStop.get(stepId)! + 1);
  }
  // `spin` exists on the frozen pod only: its new incarnation ran it again.
  expect(completionOf(events, spinId)).toMatchObject({ podId: newId, attempt: 2 });
}
