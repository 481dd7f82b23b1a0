/**
 * Cancel scenario, written once for every store (issue 14, step control): a `fleet-q start` pod runs
 * a 30 s step; `fleet-q cancel` cancels it. The handler must hear of it within one claim interval
 * plus a generous margin (its signal's reason says cancelled), the step must never complete (its
 * pod's write is `stale_write_rejected`), the audit trail shows `cancelled`, the pod's slot is free
 * again (a later step completes), and a second cancel is refused (HTTP 409, CLI exit 1). Owns the
 * scenario; the test files choose the store.
 */
import { expect } from 'vitest';
import { allEvents, byStep, readExecutions, stepRows } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { queueCli, startPod } from '../harness.js';
import { postJson, submitStep } from '../http.js';
import { TIMING } from '../timing.js';
import { waitFor } from '../../support/wait.js';

/** Timings of a store slower than the default ones (Snowflake): its variables and claim interval. */
export interface CancelTimings {
  readonly env: Readonly<Record<string, string>>;
  readonly claimIntervalMs: number;
}

export async function cancelScenario(
  cli: string,
  queue: QueueDatabase,
  timings: CancelTimings = { env: {}, claimIntervalMs: TIMING.claimIntervalMs },
): Promise<void> {
  // The pod checks its running steps once per claim interval; the rest is room for a loaded machine.
  const cancelBoundMs = timings.claimIntervalMs + 3_000;
  // One slot, so the follow-up step proves the cancelled step's slot was freed.
  const env = { ...timings.env, FLEET_Q_MAX_PARALLELISM: '1', FLEET_Q_CAPACITY_THRESHOLD: '1' };
  const pod = await startPod({ cli, queue, name: 'e2e-cancel', env });
  const reader = await queue.openReader();
  const stepId = await submitStep(pod.baseUrl, { type: 'record', args: { ms: 30_000 } });
  await waitFor('the step running', () => readExecutions(queue.executionLog).some((e) => e.step_id === stepId && e.event === 'start'), {
    timeoutMs: 20_000,
  });

  const cancelledAt = Date.now();
  const cancel = await queueCli(cli, queue, ['cancel', stepId, '--json']);
  expect(cancel).toMatchObject({ code: 0 });
  expect(JSON.parse(cancel.stdout)).toMatchObject({ step_id: stepId, status: 'cancelled', previous_status: 'claimed' });

  const aborted = await waitFor('the handler aborted', () => readExecutions(queue.executionLog).find((e) => e.step_id === stepId && e.event === 'aborted'), {
    timeoutMs: cancelBoundMs + 10_000,
  });
  expect(aborted.reason).toBe('step aborted: cancelled');
  expect(aborted.ts - cancelledAt, 'cancel heard within the claim interval plus margin').toBeLessThan(cancelBoundMs);
  await waitFor('the stale write recorded', async () => (byStep(await allEvents(reader)).get(stepId) ?? []).some((e) => e.kind === 'stale_write_rejected'), {
    timeoutMs: 20_000,
  });

  const next = await submitStep(pod.baseUrl, { type: 'record', args: { ms: 0 } });
  await waitFor('the next step completed on the freed slot', async () => (await stepRows(reader, [next])).get(next)?.status === 'completed', {
    timeoutMs: 20_000,
  });
  const trail = byStep(await allEvents(reader)).get(stepId) ?? [];
  expect(trail.map((e) => [e.kind, e.podId, e.attempt])).toEqual([
    ['submitted', null, 0],
    ['claimed', pod.podId, 1],
    ['cancelled', null, 1],
    ['stale_write_rejected', pod.podId, 1],
  ]);
  expect((await stepRows(reader, [stepId])).get(stepId)).toMatchObject({ status: 'cancelled', result: null });
  expect(readExecutions(queue.executionLog).filter((e) => e.step_id === stepId && e.event === 'done')).toEqual([]);

  expect(await postJson(pod.baseUrl, `/steps/${stepId}/cancel`, {})).toMatchObject({ status: 409, body: { error_type: 'conflict' } });
  expect(await queueCli(cli, queue, ['cancel', stepId])).toMatchObject({ code: 1 });
  expect(pod.exit).toBeNull();
}
