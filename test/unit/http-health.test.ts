/**
 * GET /health (pod states through a PodControl test double, and an app without a pod) and
 * GET /metrics (Prometheus text from a per-app registry, queue gauges read from the real store).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PodHealthStatus } from '../../src/pod/control.js';
import { FakePod, openTestApi, type TestApi } from './http-fixture.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const opened: TestApi[] = [];
async function open(options?: Parameters<typeof openTestApi>[0]): Promise<TestApi> {
  const api = await openTestApi(options);
  opened.push(api);
  return api;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((a) => a.close()));
});

describe('GET /health', () => {
  it('answers 200 healthy with the pod view in the fields of DESIGN §5', async () => {
    const api = await open({ pod: new FakePod() });
    const res = await api.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      pod_id: 'pod-a-0000abcd',
      status: 'healthy',
      uptime_seconds: 12.5,
      current_capacity: 2,
      max_capacity: 8,
      is_leader: true,
      version: '9.9.9',
    });
  });

  it.each<PodHealthStatus>(['starting', 'unhealthy', 'draining'])('answers 503 with status %s', async (status) => {
    const pod = new FakePod();
    pod.view = { ...pod.view, status, ...(status === 'starting' ? { podId: null } : {}) };
    const api = await open({ pod });
    const res = await api.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status, pod_id: status === 'starting' ? null : 'pod-a-0000abcd' });
  });

  it('without a pod answers 503 starting with this build version', async () => {
    const api = await open();
    const res = await api.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      pod_id: null,
      status: 'starting',
      uptime_seconds: expect.any(Number),
      current_capacity: 0,
      max_capacity: 0,
      is_leader: false,
      version: PACKAGE_VERSION,
    });
  });

  it('follows the pod as its state changes', async () => {
    const pod = new FakePod();
    const api = await open({ pod });
    expect((await api.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    pod.view = { ...pod.view, status: 'draining' };
    expect((await api.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
  });
});

describe('GET /metrics', () => {
  it('exposes queue gauges read from the store and request counters by route pattern', async () => {
    const api = await open();
    for (let i = 0; i < 2; i++) await api.app.inject({ method: 'POST', url: '/submit', payload: { type: 'echo', args: { i } } });
    await api.app.inject({ method: 'GET', url: '/status/step_NOPE' });
    const res = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/^fleet_q_steps\{status="pending"\} 2$/m);
    expect(res.body).toMatch(/^fleet_q_steps\{status="failed"\} 0$/m);
    expect(res.body).toMatch(/^fleet_q_active_steps_by_type\{type="echo"\} 2$/m);
    expect(res.body).toMatch(/^fleet_q_pending_steps_by_priority\{priority="0"\} 2$/m);
    expect(res.body).toMatch(/^fleet_q_live_pods 0$/m);
    expect(res.body).toMatch(/^fleet_q_http_requests_total\{method="POST",route="\/submit",status_code="201"\} 2$/m);
    expect(res.body).toMatch(/^fleet_q_http_requests_total\{method="GET",route="\/status\/:step_id",status_code="404"\} 1$/m);
    expect(res.body).not.toContain('step_NOPE');
  });

  it('keeps each app on its own registry', async () => {
    const first = await open();
    const second = await open();
    await first.app.inject({ method: 'POST', url: '/submit', payload: { type: 'echo', args: {} } });
    const body = (await second.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toMatch(/^fleet_q_steps\{status="pending"\} 0$/m);
    expect(body).not.toMatch(/route="\/submit"/);
  });

  it('answers 503 database_error when the store cannot be read', async () => {
    const api = await open({ migrate: false });
    const res = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error_type).toBe('database_error');
  });
});
