/**
 * End to end, dead-letter queue: a real pod runs a step that keeps failing until it is out of
 * retries (max_retries 2 → exactly 3 attempts), lists it on GET /admin/dlq, and after
 * POST /admin/dlq/:id/replay runs it again as a new episode. Checked through the HTTP API, the CLI
 * and the `step_events` trail on SQLite.
 */
import { describe, expect, it } from 'vitest';
import { allEvents } from './audit.js';
import { sqliteQueue, type QueueDatabase } from './database.js';
import { queueCli, startPod, useE2eSuite, withQueue } from './harness.js';
import { getJson, postJson, submitStep } from './http.js';
import { TIMING } from './timing.js';
import { waitFor } from '../support/wait.js';

const suite = useE2eSuite();

async function waitForStatus(queue: QueueDatabase, stepId: string, status: string): Promise<void> {
  const reader = await queue.openReader();
  await waitFor(`${stepId} to be ${status}`, async () => (await reader.stepGet({ stepId }))?.status === status, { timeoutMs: 20_000 });
}

/** [kind, attempt] of each event of the step. */
async function trailOf(queue: QueueDatabase, stepId: string): Promise<[string, number][]> {
  const reader = await queue.openReader();
  return (await allEvents(reader)).filter((e) => e.stepId === stepId).map((e) => [e.kind, e.attempt]);
}

const THREE_FAILED_ATTEMPTS: [string, number][] = [
  ['submitted', 0],
  ['claimed', 1],
  ['retried', 1],
  ['claimed', 2],
  ['retried', 2],
  ['claimed', 3],
  ['dead_lettered', 3],
];

describe('dead-letter queue and replay', () => {
  it('a step that always fails is dead-lettered after max_retries + 1 = 3 attempts and listed by GET /admin/dlq', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const pod = await startPod({ cli: suite.cli, queue, name: 'e2e-dlq' });
      const stepId = await submitStep(pod.baseUrl, { type: 'fail', args: {}, max_retries: 2 });
      await waitForStatus(queue, stepId, 'failed');

      expect(await trailOf(queue, stepId)).toEqual(THREE_FAILED_ATTEMPTS);
      const reader = await queue.openReader();
      const events = (await reader.eventList({ stepId })).filter((e) => e.kind === 'retried' || e.kind === 'dead_lettered');
      expect(events.map((e) => e.detail)).toEqual([
        { reason: 'error', error: 'fail step: attempt 1', retry_count: 1, run_after: expect.any(Number) },
        { reason: 'error', error: 'fail step: attempt 2', retry_count: 2, run_after: expect.any(Number) },
        { reason: 'error', error: 'fail step: attempt 3', retry_count: 2 },
      ]);
      // Backoff of the n-th retry: min(base × 2^(n−1), max) × U[0.5, 1].
      events.slice(0, 2).forEach((e, i) => {
        const ceiling = Math.min(TIMING.baseDelayMs * 2 ** i, TIMING.maxDelayMs);
        const backoff = (e.detail['run_after'] as number) - e.ts;
        expect(backoff).toBeGreaterThanOrEqual(ceiling / 2);
        expect(backoff).toBeLessThanOrEqual(ceiling);
      });
      expect(events.every((e) => e.podId === pod.podId)).toBe(true);

      const status = await getJson(pod.baseUrl, `/status/${stepId}`);
      expect(status).toMatchObject({ status: 200, body: { status: 'failed', attempt: 3, retry_count: 2, max_retries: 2, last_error: 'fail step: attempt 3' } });
      const dlq = await getJson(pod.baseUrl, '/admin/dlq');
      expect(dlq.status).toBe(200);
      expect(dlq.body).toMatchObject({ total: 1, steps: [{ step_id: stepId, type: 'fail', retry_count: 2, last_error: 'fail step: attempt 3' }] });
    });
  }, 60_000);

  it('a step failing its first 3 attempts is replayed from the DLQ and succeeds on attempt 4', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const pod = await startPod({ cli: suite.cli, queue, name: 'e2e-replay' });
      const submitted = await queueCli(suite.cli, queue, ['submit', 'fail', '--args', '{"times":3}', '--max-retries', '2']);
      expect(submitted).toMatchObject({ code: 0, stdout: expect.stringMatching(/^step_[0-9A-Z]{26}\n$/) });
      const stepId = submitted.stdout.trim();
      await waitForStatus(queue, stepId, 'failed');
      expect(await trailOf(queue, stepId)).toEqual(THREE_FAILED_ATTEMPTS);
      expect((await getJson(pod.baseUrl, '/admin/dlq')).body).toMatchObject({ total: 1, steps: [{ step_id: stepId, retry_count: 2 }] });

      const replay = await postJson(pod.baseUrl, `/admin/dlq/${stepId}/replay`, {});
      expect(replay).toEqual({ status: 200, body: { step_id: stepId, status: 'pending' } });
      await waitForStatus(queue, stepId, 'completed');

      expect(await trailOf(queue, stepId)).toEqual([...THREE_FAILED_ATTEMPTS, ['replayed', 3], ['claimed', 4], ['completed', 4]]);
      const reader = await queue.openReader();
      const replayed = (await reader.eventList({ stepId })).find((e) => e.kind === 'replayed');
      expect(replayed).toMatchObject({ podId: null, detail: { old_retry_count: 2 } });
      const status = await getJson(pod.baseUrl, `/status/${stepId}`);
      expect(status.body).toMatchObject({
        status: 'completed',
        claimed_by: pod.podId,
        attempt: 4,
        retry_count: 0,
        last_error: 'fail step: attempt 3 of 3 failing',
        result: { succeeded_on_attempt: 4 },
      });
      expect((await getJson(pod.baseUrl, '/admin/dlq')).body).toEqual({ total: 0, steps: [] });
      // Only a dead-lettered step can be replayed.
      expect(await postJson(pod.baseUrl, `/admin/dlq/${stepId}/replay`, {})).toMatchObject({ status: 409, body: { error_type: 'conflict' } });
    });
  }, 60_000);
});
