/**
 * The dashboard's server side over a real SQLite store: the page shell and assets (no data, cached
 * by ETag), the JSON routes it polls (overview numbers equal GET /admin/queue, pods, filtered and
 * paged steps, one step with its lifecycle path) and bad filters refused in the one error shape.
 * The lifecycle graph it draws must be the machine's, as the committed diagram in visualizations/ shows.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PodMeta } from '../../src/store/store.js';
import { ISO_UTC, openTestApi, type TestApi } from './http-fixture.js';

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const META: PodMeta = { max_parallelism: 10, capacity: 8, in_flight: 1, version: 'test', host: 'box' };

/** One step of each fate: completed, retried once then completed, dead-lettered; plus one pending. */
async function seed(t: TestApi): Promise<{ done: string; retried: string; dead: string; pending: string }> {
  const now = Date.now();
  await t.store.podRegister({ podId: 'w-00000001', name: 'w', meta: META, now: now - 1000 });
  const submit = async (maxRetries: number, offset: number) =>
    (await t.store.stepSubmit({ type: 'echo', args: { offset }, maxRetries, timeoutMs: 1000, now: now - 900 + offset })).stepId;
  const done = await submit(3, 1);
  const retried = await submit(3, 2);
  const dead = await submit(0, 3);
  const claimed = await t.store.stepClaim({ podId: 'w-00000001', types: ['echo'], limit: 3, now: now - 500 });
  expect(claimed.map((c) => c.stepId)).toEqual([done, retried, dead]);
  await t.store.stepComplete({ stepId: done, podId: 'w-00000001', attempt: 1, result: { ok: true }, now: now - 400 });
  await t.store.stepFail({ stepId: retried, podId: 'w-00000001', attempt: 1, error: 'flaky', retryable: true, reason: 'error', now: now - 400 });
  await t.store.stepFail({ stepId: dead, podId: 'w-00000001', attempt: 1, error: 'boom', retryable: true, reason: 'error', now: now - 400 });
  const pending = await submit(3, 800);
  return { done, retried, dead, pending };
}

describe('dashboard shell and assets', () => {
  it('serves the page and its script and stylesheet without a store read, with an ETag that answers 304', async () => {
    api = await openTestApi();
    const page = await api.app.inject({ method: 'GET', url: '/ui' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('/ui/assets/app.js');
    expect(page.body).not.toMatch(/https?:\/\//);
    const script = await api.app.inject({ method: 'GET', url: '/ui/assets/app.js' });
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    const again = await api.app.inject({ method: 'GET', url: '/ui/assets/app.js', headers: { 'if-none-match': String(script.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const missing = await api.app.inject({ method: 'GET', url: '/ui/assets/nope.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error_type: 'not_found', path: '/ui/assets/nope.js' });
  });
});

describe('dashboard data', () => {
  it('overview: the queue body of GET /admin/queue, the oldest due step, and 60 one-minute throughput points', async () => {
    api = await openTestApi();
    await seed(api);
    const overview = (await api.app.inject({ method: 'GET', url: '/ui/api/overview' })).json();
    const queue = (await api.app.inject({ method: 'GET', url: '/admin/queue' })).json();
    expect(overview.queue).toEqual(queue);
    expect(overview.queue).toMatchObject({ pending_steps: 2, completed_steps: 1, failed_steps: 1, claimed_steps: 0 });
    expect(overview.oldest_pending_age_seconds).toBeGreaterThanOrEqual(0);
    expect(overview.throughput).toHaveLength(60);
    const totals = overview.throughput.reduce(
      (sum: Record<string, number>, p: Record<string, number>) => ({
        completed: sum.completed! + p.completed!,
        retried: sum.retried! + p.retried!,
        dead_lettered: sum.dead_lettered! + p.dead_lettered!,
      }),
      { completed: 0, retried: 0, dead_lettered: 0 },
    );
    expect(totals).toEqual({ completed: 1, retried: 1, dead_lettered: 1 });
    expect(overview.throughput[59].ts).toMatch(ISO_UTC);
  });

  it('pods: live pods with capacity, in-flight steps, heartbeat age and the leader', async () => {
    api = await openTestApi();
    await seed(api);
    const pods = (await api.app.inject({ method: 'GET', url: '/ui/api/pods' })).json();
    expect(pods).toMatchObject({ leader: 'w-00000001', live_pods: 1 });
    expect(pods.pods).toEqual([
      expect.objectContaining({ pod_id: 'w-00000001', live: true, is_leader: true, capacity: 8, max_parallelism: 10, in_flight: 1, host: 'box' }),
    ]);
    expect(pods.pods[0].heartbeat_age_seconds).toBeGreaterThanOrEqual(0);
  });

  it('steps: filters by status, id prefix and idempotency key; pages; refuses unknown filters and bad statuses with 400', async () => {
    api = await openTestApi();
    const ids = await seed(api);
    const list = async (query: string) => (await api!.app.inject({ method: 'GET', url: `/ui/api/steps?${query}` })).json();
    expect((await list('status=failed')).steps.map((s: { step_id: string }) => s.step_id)).toEqual([ids.dead]);
    expect((await list('status=pending')).steps.map((s: { step_id: string }) => s.step_id).sort()).toEqual([ids.retried, ids.pending].sort());
    expect((await list(`step_id=${ids.done}`)).steps).toEqual([expect.objectContaining({ step_id: ids.done, status: 'completed', attempt: 1 })]);
    const page = await list('limit=2');
    expect(page).toMatchObject({ limit: 2, offset: 0, has_more: true });
    expect(page.steps.map((s: { step_id: string }) => s.step_id)).toEqual([ids.pending, ids.dead]);
    expect((await list('limit=2&offset=2')).steps.map((s: { step_id: string }) => s.step_id)).toEqual([ids.retried, ids.done]);

    const blank = await api.app.inject({ method: 'GET', url: '/ui/api/steps?status=&offset=' });
    expect(blank.statusCode).toBe(400);
    expect(
      blank
        .json()
        .errors.map((e: { loc: string }) => e.loc)
        .sort(),
    ).toEqual(['offset', 'status']);
    const bad = await api.app.inject({ method: 'GET', url: '/ui/api/steps?status=exploded&colour=red&limit=0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error_type: 'validation_error', path: '/ui/api/steps' });
    expect(
      bad
        .json()
        .errors.map((e: { loc: string }) => e.loc)
        .sort(),
    ).toEqual(['colour', 'limit', 'status']);
  });

  it('one step: its status body with history, and the path its events took through the lifecycle machine', async () => {
    api = await openTestApi();
    const { retried } = await seed(api);
    const detail = (await api.app.inject({ method: 'GET', url: `/ui/api/steps/${retried}` })).json();
    expect(detail.step).toMatchObject({ step_id: retried, status: 'pending', retry_count: 1, last_error: 'flaky' });
    expect(detail.step.history.map((e: { kind: string }) => e.kind)).toEqual(['submitted', 'claimed', 'retried']);
    expect(detail.path).toEqual([
      expect.objectContaining({ kind: 'submitted', from: 'unsubmitted', to: 'pending', attempt: 0, legal: true }),
      expect.objectContaining({ kind: 'claimed', from: 'pending', to: 'claimed', attempt: 1, legal: true }),
      expect.objectContaining({ kind: 'retried', from: 'claimed', to: 'pending', attempt: 1, legal: true }),
    ]);
    const missing = await api.app.inject({ method: 'GET', url: '/ui/api/steps/step_nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error_type: 'not_found' });
  });

  it('the lifecycle graph it draws is the one of visualizations/lifecycle.mmd, transition for transition', async () => {
    api = await openTestApi();
    const graph = (await api.app.inject({ method: 'GET', url: '/ui/api/lifecycle' })).json();
    expect(graph.initial).toBe('unsubmitted');
    expect(graph.states).toEqual(['unsubmitted', 'pending', 'claimed', 'completed', 'failed', 'cancelled']);
    const mmd = readFileSync(new URL('../../visualizations/lifecycle.mmd', import.meta.url), 'utf8');
    const drawn = [...mmd.matchAll(/lifecycle_(\w+) --> lifecycle_(\w+) : (\w+)/g)].map((m) => `${m[1]}>${m[2]}:${m[3]}`).sort();
    const moving = graph.edges
      .filter((e: { from: string; to: string }) => e.from !== e.to)
      .map((e: { from: string; to: string; event: string }) => `${e.from}>${e.to}:${e.event}`)
      .sort();
    expect(moving).toEqual(drawn);
    expect(graph.edges.filter((e: { from: string; to: string; event: string }) => e.from === e.to).map((e: { event: string }) => e.event)).toEqual(
      Array(5).fill('stale_write_rejected'),
    );
  });
});
