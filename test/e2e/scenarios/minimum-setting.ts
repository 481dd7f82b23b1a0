/**
 * Fault-free run at the smallest accepted liveness setting, written once for every store: two real
 * pods with a 1 s heartbeat and a 3 s dead-pod threshold (the smallest threshold a 1 s heartbeat is
 * accepted with at the store's default 1 s latency budget: the setting that used to fence every
 * second), fed for 30 s. Each pod must stay one incarnation, and every step must be claimed once and
 * completed at attempt 1. Owns the scenario; the test file chooses the store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { allEvents, byStep } from '../audit.js';
import type { QueueDatabase } from '../database.js';
import { startPods } from '../harness.js';
import { submitBatch } from '../http.js';
import { recordSteps } from './sigkill.js';
import { waitFor } from '../../support/wait.js';

/** 1 s / 3 s with the store's default budget; leader check and sweep at their defaults, as a user would run. */
export const MINIMUM_SETTING_ENV: Readonly<Record<string, string>> = {
  FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: '1',
  FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: '3',
  // Empty counts as unset: the store's default budget (1 s on SQLite and PostgreSQL).
  FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: '',
  FLEET_Q_LEADER_CHECK_INTERVAL_SECONDS: '',
  FLEET_Q_RECOVERY_INTERVAL_SECONDS: '',
};

const RUN_MS = 30_000;
const BATCH_EVERY_MS = 2_000;
const BATCH_SIZE = 10;

export async function minimumSettingScenario(cli: string, queue: QueueDatabase): Promise<void> {
  const pods = await startPods({ cli, queue, env: MINIMUM_SETTING_ENV }, ['min-a', 'min-b']);
  const reader = await queue.openReader();
  const startedIds = pods.map((p) => p.podId);

  const stepIds: string[] = [];
  const until = Date.now() + RUN_MS;
  for (let i = 0; Date.now() < until; i++) {
    stepIds.push(...(await submitBatch(pods[i % 2]!.baseUrl, recordSteps(BATCH_SIZE, 50, 400))));
    await sleep(BATCH_EVERY_MS);
  }
  await waitFor(`all ${stepIds.length} steps to complete`, async () => (await reader.queueStats()).completed === stepIds.length, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });

  // One incarnation each: two pod rows, both up, the ids the pods had at start and still report.
  const rows = await reader.podList();
  expect(rows.map((r) => [r.podId, r.status]).sort()).toEqual(startedIds.map((id) => [id, 'up']).sort());
  for (const pod of pods) {
    expect((await pod.health()).body).toMatchObject({ status: 'healthy', pod_id: pod.podId });
    expect(pod.output, `${pod.name} fenced itself`).not.toMatch(/"event":"(pod\.fenced|heartbeat\.lost)"/);
  }

  // Every step claimed once and completed at attempt 1, by one of the two incarnations.
  const events = byStep(await allEvents(reader));
  const problems = stepIds.filter((id) => {
    const trail = events.get(id) ?? [];
    return (
      trail.map((e) => e.kind).join(',') !== 'submitted,claimed,completed' || trail.slice(1).some((e) => e.attempt !== 1 || !startedIds.includes(e.podId ?? ''))
    );
  });
  expect(problems).toEqual([]);
  // Both pods worked: neither was idle behind a false fence.
  const claimers = new Set(stepIds.map((id) => events.get(id)![1]!.podId));
  expect(claimers.size).toBe(2);
}
