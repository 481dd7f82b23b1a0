/**
 * Operator routes over a real SQLite store: leader, queue, schedules, DLQ listing and replay, and recovery both
 * through a pod (PodControl test double) and in an app that runs no pod.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, FleetError } from '../../src/errors.js';
import type { PodMeta } from '../../src/store/store.js';
import { compileSchedules } from '../../src/schedules/definition.js';
import { enqueueDueTicks } from '../../src/schedules/enqueue.js';
import { counts, DEFAULTS, FakePod, ISO_UTC, openTestApi, registry, type TestApi } from './http-fixture.js';

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const META: PodMeta = { max_parallelism: 10, capacity: 8, in_flight: 0, version: 'test', host: 'localhost' };

async function deadLetter(t: TestApi, now: number, error = 'boom'): Promise<string> {
  const { stepId } = await t.store.stepSubmit({ type: 'echo', args: { now }, maxRetries: 0, timeoutMs: 1000, now });
  await t.store.podRegister({ podId: `w-${now}`, name: 'w', meta: META, now });
  const [claimed] = await t.store.stepClaim({ podId: `w-${now}`, types: ['echo'], limit: 1, now });
  expect(claimed?.stepId).toBe(stepId);
  const failed = await t.store.stepFail({ stepId, podId: `w-${now}`, attempt: 1, error, retryable: true, reason: 'error', now });
  expect(failed.applied && failed.outcome).toBe('dead_lettered');
  return stepId;
}

describe('GET /admin/leader', () => {
  it('with no pods: no leader, zero active pods', async () => {
    api = await openTestApi();
    const body = (await api.app.inject({ method: 'GET', url: '/admin/leader' })).json();
    expect(body).toEqual({
      current_leader: null,
      leader_birth_ts: null,
      active_pods: 0,
      last_election_check: expect.stringMatching(ISO_UTC),
      election_details: { eligible_pods: [] },
    });
  });

  it('names the oldest live pod and lists every live one', async () => {
    api = await openTestApi();
    const now = Date.now();
    await api.store.podRegister({ podId: 'young-00000002', name: 'young', meta: META, now: now - 1_000 });
    await api.store.podRegister({ podId: 'old-00000001', name: 'old', meta: META, now: now - 2_000 });
    await api.store.podRegister({ podId: 'dead-00000003', name: 'dead', meta: META, now: now - 3_600_000 });
    const body = (await api.app.inject({ method: 'GET', url: '/admin/leader' })).json();
    expect(body.current_leader).toBe('old-00000001');
    expect(body.leader_birth_ts).toBe(new Date(now - 2_000).toISOString());
    expect(body.active_pods).toBe(2);
    expect(Number.isInteger(body.active_pods)).toBe(true);
    expect(body.election_details.eligible_pods).toEqual([
      { pod_id: 'old-00000001', birth_ts: new Date(now - 2_000).toISOString(), last_heartbeat_ts: new Date(now - 2_000).toISOString(), is_leader: true },
      { pod_id: 'young-00000002', birth_ts: new Date(now - 1_000).toISOString(), last_heartbeat_ts: new Date(now - 1_000).toISOString(), is_leader: false },
    ]);
  });
});

describe('GET /admin/queue', () => {
  it('counts steps by status, priority, type and pod', async () => {
    api = await openTestApi();
    for (const payload of [
      { type: 'echo', args: {}, priority: 5 },
      { type: 'echo', args: {}, priority: 5 },
      { type: 'sleep', args: { ms: 1 } },
      { type: 'echo', args: {}, deadline: '2001-01-01T00:00:00Z' },
    ]) {
      expect((await api.app.inject({ method: 'POST', url: '/submit', payload })).statusCode).toBe(201);
    }
    await api.store.podRegister({ podId: 'p-00000001', name: 'p', meta: META });
    await api.store.stepClaim({ podId: 'p-00000001', types: ['sleep'], limit: 1 });
    const then = Date.now() - 5_000;
    await deadLetter(api, then);

    const body = (await api.app.inject({ method: 'GET', url: '/admin/queue' })).json();
    expect(body).toEqual({
      pending_steps: 3,
      claimed_steps: 1,
      completed_steps: 0,
      failed_steps: 1,
      cancelled_steps: 0,
      active_pods: 2,
      current_leader: `w-${then}`,
      queue_depth_by_priority: { '0': 1, '5': 2 },
      steps_by_type: { echo: 3, sleep: 1 },
      pod_capacity: { 'p-00000001': { current: 1, max: 8 }, [`w-${then}`]: { current: 0, max: 8 } },
      oldest_pending_age_seconds_by_priority: { '0': expect.any(Number), '5': expect.any(Number) },
      past_deadline_steps: 1,
    });
    expect(body.oldest_pending_age_seconds_by_priority['5']).toBeLessThan(60);
  });
});

describe('GET /admin/dlq', () => {
  it('lists dead-lettered steps newest first with the total, paged', async () => {
    api = await openTestApi();
    const base = Date.now() - 60_000;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await deadLetter(api, base + i * 1000, `error ${i}`));
    const body = (await api.app.inject({ method: 'GET', url: '/admin/dlq' })).json();
    expect(body.total).toBe(3);
    expect(body.steps.map((s: { step_id: string }) => s.step_id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(body.steps[0]).toEqual({
      step_id: ids[2],
      type: 'echo',
      retry_count: 0,
      last_error: 'error 2',
      last_update_ts: new Date(base + 2000).toISOString(),
    });

    const page = (await api.app.inject({ method: 'GET', url: '/admin/dlq?limit=1&offset=1' })).json();
    expect(page).toEqual({ total: 3, steps: [expect.objectContaining({ step_id: ids[1] })] });
    expect((await api.app.inject({ method: 'GET', url: '/admin/dlq?limit=500' })).statusCode).toBe(200);
  });

  it.each(['limit=501', 'limit=0', 'limit=-1', 'limit=abc', 'limit=1e2', 'offset=-1', 'offset=1.5'])('refuses %s with 400', async (query) => {
    api = await openTestApi();
    const res = await api.app.inject({ method: 'GET', url: `/admin/dlq?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error_type: 'validation_error', path: '/admin/dlq', errors: [{ loc: query.split('=')[0] }] });
  });
});

describe('POST /admin/dlq/:step_id/replay', () => {
  it('puts a dead-lettered step back to pending with its retry count reset', async () => {
    api = await openTestApi();
    const id = await deadLetter(api, Date.now() - 1000);
    const res = await api.app.inject({ method: 'POST', url: `/admin/dlq/${id}/replay` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ step_id: id, status: 'pending' });
    expect(await api.store.stepGet({ stepId: id })).toMatchObject({ status: 'pending', retryCount: 0, lastError: 'boom' });
  });

  it('answers 409 for a step not in the DLQ and 404 for an unknown one', async () => {
    api = await openTestApi();
    const id = (await api.app.inject({ method: 'POST', url: '/submit', payload: { type: 'echo', args: {} } })).json().step_id;
    const conflict = await api.app.inject({ method: 'POST', url: `/admin/dlq/${id}/replay` });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error_type: 'conflict', path: `/admin/dlq/${id}/replay` });
    const missing = await api.app.inject({ method: 'POST', url: '/admin/dlq/step_NOPE/replay' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error_type).toBe('not_found');
  });
});

describe('POST /admin/recovery/run through a pod', () => {
  it('passes force and dry_run to the pod and answers its summary', async () => {
    const pod = new FakePod();
    pod.recovery = async (o) => ({
      cycleId: 'cycle-7',
      summary: { dryRun: o.dryRun, deadPods: ['d-1'], orphanedSteps: ['s1', 's2'], requeued: ['s1'], deadLettered: ['s2'], durationMs: 12 },
    });
    api = await openTestApi({ pod });
    const res = await api.app.inject({
      method: 'POST',
      url: '/admin/recovery/run',
      payload: { force: true, dry_run: true },
      headers: { 'x-request-id': 'op-42' },
    });
    expect(res.statusCode).toBe(200);
    // The request id names the run in the pod's log lines.
    expect(pod.recoveryCalls).toEqual([{ force: true, dryRun: true, requestId: 'op-42' }]);
    expect(res.json()).toEqual({
      status: 'dry_run',
      message: expect.any(String),
      recovery_summary: {
        cycle_id: 'cycle-7',
        dead_pods_found: 1,
        orphaned_steps_found: 2,
        steps_requeued: 1,
        steps_marked_terminal: 1,
        duration_ms: 12,
        dead_pods: ['d-1'],
        requeued_steps: ['s1'],
        terminal_steps: ['s2'],
      },
    });
  });

  it('reports duration_ms in whole milliseconds, as every store measures it', async () => {
    const pod = new FakePod();
    // The PostgreSQL driver times the sweep with performance.now().
    pod.recovery = async (o) => ({
      cycleId: 'cycle-8',
      summary: { dryRun: o.dryRun, deadPods: [], orphanedSteps: [], requeued: [], deadLettered: [], durationMs: 5.005905000001803 },
    });
    api = await openTestApi({ pod });
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: {} });
    expect(res.json().recovery_summary.duration_ms).toBe(5);
  });

  it('defaults to force false, dry_run false, also for an empty JSON body', async () => {
    const pod = new FakePod();
    api = await openTestApi({ pod });
    expect((await api.app.inject({ method: 'POST', url: '/admin/recovery/run' })).json().status).toBe('completed');
    await api.app.inject({ method: 'POST', url: '/admin/recovery/run', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(pod.recoveryCalls).toEqual([
      { force: false, dryRun: false, requestId: expect.any(String) },
      { force: false, dryRun: false, requestId: expect.any(String) },
    ]);
  });

  it('maps the pod refusing: 403 not_leader, 409 while a sweep runs', async () => {
    const pod = new FakePod();
    api = await openTestApi({ pod });
    pod.recovery = async () => {
      throw new FleetError('not_leader', 'pod-b leads');
    };
    const notLeader = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: {} });
    expect(notLeader.statusCode).toBe(403);
    expect(notLeader.json()).toMatchObject({ error_type: 'not_leader', path: '/admin/recovery/run' });
    pod.recovery = async () => {
      throw new ConflictError('a sweep is running');
    };
    const busy = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: { force: true } });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().error_type).toBe('conflict');
  });

  it.each([{ force: 'yes' }, { dry_run: 1 }, { forse: true }, [true]])('refuses the body %j with 400 without calling the pod', async (payload) => {
    const pod = new FakePod();
    api = await openTestApi({ pod });
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: payload as object });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_type).toBe('validation_error');
    expect(pod.recoveryCalls).toEqual([]);
  });
});

describe('POST /admin/recovery/run without a pod', () => {
  /** A pod that stopped beating two minutes ago while holding a claim. */
  async function orphan(t: TestApi): Promise<string> {
    const then = Date.now() - 120_000;
    const { stepId } = await t.store.stepSubmit({ type: 'echo', args: {}, maxRetries: 3, timeoutMs: 1000, now: then });
    await t.store.podRegister({ podId: 'gone-00000001', name: 'gone', meta: META, now: then });
    await t.store.stepClaim({ podId: 'gone-00000001', types: ['echo'], limit: 1, now: then });
    return stepId;
  }

  it('answers 403 not_leader unless forced', async () => {
    api = await openTestApi();
    const stepId = await orphan(api);
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json().error_type).toBe('not_leader');
    expect((await api.store.stepGet({ stepId }))?.status).toBe('claimed');
  });

  it('dry_run reports the orphan and the dead pod and writes nothing', async () => {
    api = await openTestApi();
    const stepId = await orphan(api);
    const before = await counts(api.store);
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: { force: true, dry_run: true } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'dry_run',
      recovery_summary: { dead_pods: ['gone-00000001'], requeued_steps: [stepId], terminal_steps: [], orphaned_steps_found: 1, dead_pods_found: 1 },
    });
    expect(await counts(api.store)).toEqual(before);
    expect((await api.store.podList()).map((p) => p.status)).toEqual(['up']);
  });

  it('forced, requeues the orphan and marks the pod down', async () => {
    api = await openTestApi();
    const stepId = await orphan(api);
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: { force: true } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'completed', recovery_summary: { steps_requeued: 1, requeued_steps: [stepId], cycle_id: expect.any(String) } });
    expect(await api.store.stepGet({ stepId })).toMatchObject({ status: 'pending', retryCount: 1, claimedBy: null });
    expect((await api.store.podList()).map((p) => p.status)).toEqual(['down']);
  });

  it('answers 409 while a sweep of this app is still running', async () => {
    api = await openTestApi({ store: { busyRetry: { deadlineMs: 5_000, minDelayMs: 2, maxDelayMs: 10 } } });
    await orphan(api);
    const other = new Database(api.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const first = api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: { force: true } });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', payload: { force: true } });
      expect(second.statusCode).toBe(409);
      expect(second.json().error_type).toBe('conflict');
      other.exec('COMMIT');
      expect((await first).statusCode).toBe(200);
    } finally {
      other.close();
    }
  });
});

describe('GET /admin/schedules', () => {
  it('with no schedules: an empty list and the database time', async () => {
    api = await openTestApi();
    const body = (await api.app.inject({ method: 'GET', url: '/admin/schedules' })).json();
    expect(body).toEqual({ checked_at: expect.stringMatching(ISO_UTC), schedules: [] });
  });

  it('names the last tick enqueued, its step and status, and the next tick; a schedule never enqueued has none', async () => {
    const schedules = compileSchedules(
      [
        { name: 'hourly', type: 'echo', cron: '0 0 * * * *', timezone: 'Asia/Tokyo', args: { h: true }, priority: 2, missed: { backfill: 2 } },
        { name: 'yearly', type: 'echo', cron: '0 0 1 1 *' },
      ],
      registry,
      DEFAULTS,
    );
    api = await openTestApi({ app: { schedules } });
    const round = await enqueueDueTicks({ store: api.store, schedules: schedules.slice(0, 1), now: Date.now() });
    const last = round.submits[round.submits.length - 1]!;
    const body = (await api.app.inject({ method: 'GET', url: '/admin/schedules' })).json();
    expect(body.schedules).toEqual([
      {
        name: 'hourly',
        type: 'echo',
        cron: '0 0 * * * *',
        timezone: 'Asia/Tokyo',
        missed: 'backfill',
        backfill: 2,
        priority: 2,
        next_tick: new Date(last.tick + 3_600_000).toISOString(),
        last_enqueued_tick: new Date(last.tick).toISOString(),
        last_step_id: last.stepId,
        last_step_status: 'pending',
      },
      expect.objectContaining({ name: 'yearly', missed: 'skip', backfill: null, last_enqueued_tick: null, last_step_id: null, last_step_status: null }),
    ]);
  });
});
