/**
 * SIGTERM scenario, written once for every store (DESIGN §3 Drain): a pod holding steps longer than
 * its shutdown grace (1 s) is asked to stop. It must answer `/health` 503 `draining` at once, still
 * accept submits, give its handlers the grace, release their steps (`released`, retry_count
 * unchanged), mark its row `down` and exit 0 within the grace plus a 2 s margin; another pod then
 * completes the released steps. Owns the scenario; the test files choose the store.
 */
import { expect } from 'vitest';
import { allEvents, byStep, stepRows } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { queueCli, startPod, type PodProcess } from '../harness.js';
import { postJson, submitStep, type HttpAnswer } from '../http.js';
import { waitFor } from '../../support/wait.js';

const GRACE_MS = 1_000;
/** Release writes, marking down, closing the API and the store, process exit. */
const EXIT_MARGIN_MS = 2_000;
/** Far longer than the grace plus the second pod's start-up, so the drain always finds them running. */
const STEP_MS = 6_000;

/** The first `/health` answer after the signal that is not 200, polling without pause. */
async function firstUnhealthyAnswer(pod: PodProcess): Promise<HttpAnswer> {
  for (;;) {
    if (pod.exit !== null) throw new Error(`${pod.name} exited before /health reported anything but 200`);
    const answer = await pod.health();
    if (answer.status !== 200) return answer;
  }
}

/** Drains a pod holding four 6 s sleeps and checks the exit, the releases and the completions elsewhere. */
export async function sigtermScenario(cli: string, queue: QueueDatabase): Promise<void> {
  const grace = { FLEET_Q_SHUTDOWN_GRACE_SECONDS: String(GRACE_MS / 1000) };
  const drainer = await startPod({ cli, queue, name: 'e2e-drainer', env: grace });
  const reader = await queue.openReader();
  const stepIds = [...(await Promise.all([1, 2, 3].map(() => submitStep(drainer.baseUrl, { type: 'sleep', args: { ms: STEP_MS } }))))];
  const viaCli = await queueCli(cli, queue, ['submit', 'sleep', '--args', JSON.stringify({ ms: STEP_MS })]);
  expect(viaCli).toMatchObject({ code: 0, stdout: expect.stringMatching(/^step_[0-9A-Z]{26}\n$/) });
  stepIds.push(viaCli.stdout.trim());
  await waitFor(
    `${drainer.name} to claim all four steps`,
    async () => [...(await stepRows(reader, stepIds)).values()].every((r) => r.status === 'claimed' && r.claimedBy === drainer.podId),
    { timeoutMs: 20_000 },
  );
  // Started only now, so every step is the drainer's; it takes over what the drain releases.
  const taker = await startPod({ cli, queue, name: 'e2e-taker', env: grace });

  const signalledAt = Date.now();
  drainer.signal('SIGTERM');
  const unhealthy = await firstUnhealthyAnswer(drainer);
  expect(unhealthy).toMatchObject({ status: 503, body: { status: 'draining', pod_id: drainer.podId } });
  // Producers may still submit to a draining pod.
  const duringDrain = await postJson(drainer.baseUrl, '/submit', { type: 'echo', args: { during: 'drain' } });
  expect(duringDrain).toMatchObject({ status: 201, body: { status: 'submitted' } });
  const echoId = duringDrain.body.step_id as string;

  const exit = await drainer.exited;
  expect(exit).toMatchObject({ code: 0, signal: null });
  expect(exit.at - signalledAt).toBeGreaterThanOrEqual(GRACE_MS);
  expect(exit.at - signalledAt).toBeLessThanOrEqual(GRACE_MS + EXIT_MARGIN_MS);
  expect((await reader.podList()).find((p) => p.podId === drainer.podId)).toMatchObject({ status: 'down', live: false });

  const allIds = [...stepIds, echoId];
  await waitFor(
    'the released steps to complete on the other pod',
    async () => [...(await stepRows(reader, allIds)).values()].every((r) => r.status === 'completed'),
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
  expect(taker.exit).toBeNull();
  const events = byStep(await allEvents(reader));
  const rows = await stepRows(reader, allIds);
  for (const stepId of stepIds) {
    const trail = events.get(stepId) ?? [];
    expect(trail.map((e) => [e.kind, e.podId, e.attempt])).toEqual([
      ['submitted', null, 0],
      ['claimed', drainer.podId, 1],
      ['released', drainer.podId, 1],
      ['claimed', taker.podId, 2],
      ['completed', taker.podId, 2],
    ]);
    const released = trail[2]!;
    expect(released.detail).toEqual({ release_count: 1 });
    // Handlers had the whole grace. 20 ms: libuv arms timers from its cached loop clock, which may lag the wall clock by a few ms.
    expect(released.ts).toBeGreaterThanOrEqual(signalledAt + GRACE_MS - 20);
    expect(rows.get(stepId)).toMatchObject({
      status: 'completed',
      claimedBy: taker.podId,
      attempt: 2,
      retryCount: 0,
      releaseCount: 1,
      result: { slept_ms: STEP_MS },
    });
  }
  expect(rows.get(echoId)).toMatchObject({ status: 'completed', claimedBy: taker.podId, result: { during: 'drain' } });
}
