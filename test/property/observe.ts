/**
 * Reads everything the real store exposes and holds it against the reference model: every row, pod,
 * the leader, queue stats and the DLQ must equal the model's; every acknowledged submit exists (I1);
 * no row or event is unknown to the model (I2); stats add up (I14); the trail passes `checkTrail` and
 * its replay reproduces each row (I13); stale writes each left exactly one event (I17).
 * Reads only: it never writes to the store or changes the model.
 */
import { expect } from 'vitest';
import type { Store, StepEvent, StepRow } from '../../src/store/store.js';
import { checkTrail } from '../../src/testing/invariants.js';
import type { ModelStep, QueueModel } from './model.js';

/** Every event, paged so that a driver's default or maximum page size cannot hide any. */
export async function readAllEvents(store: Store, afterEventId = 0): Promise<StepEvent[]> {
  const all: StepEvent[] = [];
  for (let after = afterEventId; ;) {
    const page = await store.eventList({ afterEventId: after, limit: 500 });
    if (page.length === 0) return all;
    all.push(...page);
    after = page[page.length - 1]!.eventId;
  }
}

/** The fields of a row the model predicts exactly. */
export function rowView(row: StepRow | ModelStep): Record<string, unknown> {
  return {
    stepId: row.stepId,
    type: row.type,
    args: row.args,
    priority: row.priority,
    status: row.status,
    claimedBy: row.claimedBy,
    attempt: row.attempt,
    retryCount: row.retryCount,
    maxRetries: row.maxRetries,
    releaseCount: row.releaseCount,
    runAfter: row.runAfter,
    idempotencyKey: row.idempotencyKey,
    lastError: row.lastError,
    result: row.result,
    createdTs: row.createdTs,
  };
}

/** Compares the whole real store with the model and checks the trail; throws on the first difference. */
export async function checkAgreement(model: QueueModel, store: Store, final = false): Promise<void> {
  const now = model.clock;
  for (const step of model.steps.values()) {
    const row = await store.stepGet({ stepId: step.stepId });
    expect(row, `I1 acknowledged step ${step.stepId} is missing`).not.toBeNull();
    expect(rowView(row!), `row ${step.stepId}`).toEqual(rowView(step));
    if (final) expect(['completed', 'failed', 'cancelled'], `I1 ${step.stepId} not terminal after settling`).toContain(row!.status);
  }

  const counts = { pending: 0, claimed: 0, completed: 0, failed: 0, cancelled: 0 };
  const byPriority: Record<string, number> = {};
  const byType: Record<string, number> = {};
  for (const s of model.steps.values()) {
    counts[s.status] += 1;
    if (s.status === 'pending') byPriority[String(s.priority)] = (byPriority[String(s.priority)] ?? 0) + 1;
    if (s.status === 'pending' || s.status === 'claimed') byType[s.type] = (byType[s.type] ?? 0) + 1;
  }
  const stats = await store.queueStats({ now });
  expect(
    { pending: stats.pending, claimed: stats.claimed, completed: stats.completed, failed: stats.failed, cancelled: stats.cancelled },
    'I14 counts by status',
  ).toEqual(counts);
  expect(stats.pending + stats.claimed + stats.completed + stats.failed + stats.cancelled, 'I14 conservation').toBe(model.steps.size);
  expect(dropZeros(stats.pendingByPriority), 'pending by priority').toEqual(byPriority);
  expect(dropZeros(stats.activeByType), 'active by type').toEqual(byType);

  const order = (a: { birthTs: number; podId: string }, b: { birthTs: number; podId: string }) => a.birthTs - b.birthTs || (a.podId < b.podId ? -1 : 1);
  const livePods = [...model.pods.values()].filter((p) => model.isLive(p.podId)).sort(order);
  const claimedBy = (podId: string) => [...model.steps.values()].filter((s) => s.status === 'claimed' && s.claimedBy === podId).length;
  expect(stats.pods.map((p) => [p.podId, p.claimed]).sort(), 'live pods and their claims').toEqual(livePods.map((p) => [p.podId, claimedBy(p.podId)]).sort());

  const pods = await store.podList({ now });
  const podView = (p: { podId: string; name: string; birthTs: number; lastHeartbeatTs: number; status: string }, live: boolean) => ({
    podId: p.podId,
    name: p.name,
    birthTs: p.birthTs,
    lastHeartbeatTs: p.lastHeartbeatTs,
    status: p.status,
    live,
  });
  expect(
    pods.map((p) => podView(p, p.live)),
    'pod rows',
  ).toEqual([...model.pods.values()].sort(order).map((p) => podView(p, model.isLive(p.podId))));
  const leader = await store.leaderGet({ now });
  const expectedLeader = livePods[0]?.podId ?? null;
  expect(leader.leader?.podId ?? null, 'leader').toBe(expectedLeader);
  expect(
    leader.livePods.map((p) => p.podId),
    'live pods in (birth_ts, pod_id) order',
  ).toEqual(livePods.map((p) => p.podId));
  expect(stats.leader, 'leader in queue stats').toBe(expectedLeader);

  const dlq = await store.dlqList({ limit: 500, offset: 0 });
  const failedIds = [...model.steps.values()].filter((s) => s.status === 'failed').map((s) => s.stepId);
  expect(dlq.total, 'DLQ total').toBe(failedIds.length);
  expect(dlq.steps.map((s) => s.stepId).sort(), 'I2 DLQ rows').toEqual(failedIds.sort());

  const events = await readAllEvents(store);
  const unknown = events.filter((e) => !model.steps.has(e.stepId)).map((e) => `#${e.eventId} ${e.stepId}`);
  expect(unknown, 'I2 events of steps nobody submitted').toEqual([]);
  expect(events.at(-1)?.eventId ?? 0, 'events after the last one the model saw').toBe(model.lastEventId);
  expect(events.filter((e) => e.kind === 'stale_write_rejected').length, 'I17 one event per stale write').toBe(model.staleWrites);
  const { violations, replayed } = checkTrail(events, {
    policy: model.policy,
    maxRetries: (id) => model.steps.get(id)?.maxRetries ?? 0,
    runAfterOf: (id) => model.runAfterByEvent.get(id),
    podLog: model.podLog,
    final,
  });
  expect(violations, 'audit trail invariants').toEqual([]);
  for (const step of model.steps.values()) {
    const { status, claimedBy, attempt, retryCount, lastError } = step;
    expect(replayed.get(step.stepId), `I13 replaying the events of ${step.stepId}`).toEqual({ status, claimedBy, attempt, retryCount, lastError });
  }
}

function dropZeros(counts: { readonly [key: string]: number }): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}
