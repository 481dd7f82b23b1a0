/**
 * End to end, the database server restarted mid-run: two pods on a private PostgreSQL (see
 * private-postgres.ts for why never the shared one) work through 120 `record` steps; the server is
 * shut down (fast: every connection cut), kept down 2.5 s — longer than the 1.1 s self-fencing
 * window — and started again on the same port and data. No pod may exit, nothing may be lost, and
 * work must resume: every pod fences itself and re-registers as a new incarnation (DESIGN §3), the
 * old incarnations' claims are recovered, and every step is completed exactly once.
 */
import { describe, expect, it } from 'vitest';
import { allEvents, byStep, exactlyOnceProblems, readExecutions, unexecutedCompletions } from './audit.js';
import { postgresQueue } from './database.js';
import { startPods, useE2eSuite, waitHealthy, withQueue } from './harness.js';
import { submitBatch } from './http.js';
import { startPrivatePostgres } from './private-postgres.js';
import { recordSteps } from './scenarios/sigkill.js';
import { waitFor } from '../support/wait.js';

const suite = useE2eSuite();

const STEP_COUNT = 120;
const OUTAGE_MS = 2_500;

describe('PostgreSQL restarted mid-run', () => {
  it('no pod exits, nothing is lost, and work resumes under new incarnations', async () => {
    const server = await startPrivatePostgres();
    try {
      await withQueue(
        () => postgresQueue(server.url),
        async (queue) => {
          const pods = await startPods({ cli: suite.cli, queue }, ['e2e-1', 'e2e-2']);
          const oldIds = pods.map((pod) => pod.podId);
          const reader = await queue.openReader();
          const stepIds = await submitBatch(pods[0]!.baseUrl, recordSteps(STEP_COUNT, 300, 600));
          await waitFor('20 steps to complete', async () => (await reader.queueStats()).completed >= 20, { timeoutMs: 30_000 });
          const atRestart = await reader.queueStats();
          expect(atRestart.claimed).toBeGreaterThan(0);

          await server.restart(OUTAGE_MS);

          for (const [i, pod] of pods.entries()) {
            const newId = await waitHealthy(pod, { replacing: oldIds[i]! });
            expect(newId.startsWith(`${pod.name}-`)).toBe(true);
          }

          const after = await queue.openReader();
          await waitFor(`all ${STEP_COUNT} steps to complete`, async () => (await after.queueStats()).completed === STEP_COUNT, {
            timeoutMs: 90_000,
            intervalMs: 200,
          });
          expect(pods.map((pod) => pod.exit)).toEqual([null, null]);
          expect(await after.queueStats()).toMatchObject({ pending: 0, claimed: 0, failed: 0, completed: STEP_COUNT });

          const events = byStep(await allEvents(after));
          expect(exactlyOnceProblems(events, stepIds)).toEqual([]);
          expect(unexecutedCompletions(events, stepIds, readExecutions(queue.executionLog))).toEqual([]);
          // The old incarnations are swept down once their heartbeats age out; the new ones live.
          await waitFor(
            'the old incarnations to be marked down',
            async () => {
              const rows = await after.podList();
              return oldIds.every((id) => rows.find((r) => r.podId === id)?.status === 'down');
            },
            { timeoutMs: 20_000 },
          );
          const rows = await after.podList();
          for (const pod of pods) expect(rows.find((r) => r.podId === pod.podId)).toMatchObject({ status: 'up', live: true, name: pod.name });
        },
      );
    } finally {
      await server.destroy();
    }
  }, 180_000);
});
