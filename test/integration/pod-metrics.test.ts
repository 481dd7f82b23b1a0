/**
 * The operations metrics of real pods on one SQLite file, scraped through the real API: the leader
 * flag, heartbeat age, claim batch sizes, recovery sweeps, store call timing, and queue-wide gauges
 * (queue age per priority included) read by the leader only: a follower's scrape runs no queue read.
 */
import { afterEach, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createMetrics, type FleetMetrics } from '../../src/metrics.js';
import { instrumentStore } from '../../src/metrics/store-timing.js';
import type { Pod } from '../../src/pod/pod.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';
import { PodWorld } from './pod-harness.js';

let world: PodWorld;
const apps: FastifyInstance[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await world.close();
  for (const store of stores.splice(0)) await store.close();
});

interface Served {
  readonly pod: Pod;
  readonly app: FastifyInstance;
}

/** A pod and its API sharing one instrumented store and one registry, as `fleet-q start` wires them. */
async function servedPod(name: string): Promise<Served> {
  const metrics: FleetMetrics = createMetrics();
  const store = instrumentStore(await openStore(world.config({ podId: name })), metrics);
  stores.push(store);
  const pod = await world.startPod(name, {}, { store, metrics });
  const app = await buildApp({ store, registry: pod.registry!, defaults: { defaultMaxRetries: 3, defaultStepTimeoutMs: 60_000 }, pod, metrics });
  apps.push(app);
  return { pod, app };
}

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

/** The value of the one sample `series` (exact name and labels as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it('the leader reports queue age and queue counts from its own reads; a follower reads nothing queue-wide', async () => {
  world = new PodWorld();
  const leader = await servedPod('lead');
  await waitFor('lead leads', () => leader.pod.health().isLeader);
  const follower = await servedPod('follow');
  // A type no pod registers: due and waiting for as long as the test runs.
  await world.submit('nobody.handles', {}, { priority: 4 });
  await new Promise((resolve) => setTimeout(resolve, 150));

  const fromLeader = await scrape(leader.app);
  expect(sample(fromLeader, 'fleet_q_is_leader')).toBe(1);
  expect(sample(fromLeader, 'fleet_q_due_steps{priority="4"}')).toBe(1);
  expect(sample(fromLeader, 'fleet_q_queue_age_seconds{priority="4"}')).toBeGreaterThanOrEqual(0.1);
  expect(sample(fromLeader, 'fleet_q_steps{status="pending"}')).toBe(1);
  // The timing of a scrape's own reads shows from the next scrape on (prom-client collects concurrently).
  const again = await scrape(leader.app);
  expect(sample(again, 'fleet_q_store_operation_duration_seconds_count{operation="queueAge"}')).toBeGreaterThanOrEqual(1);
  expect(sample(again, 'fleet_q_store_operation_duration_seconds_count{operation="queueStats"}')).toBeGreaterThanOrEqual(1);

  await scrape(follower.app);
  const fromFollower = await scrape(follower.app);
  expect(sample(fromFollower, 'fleet_q_is_leader')).toBe(0);
  expect(fromFollower).toContain('# TYPE fleet_q_queue_age_seconds gauge');
  expect(fromFollower).not.toMatch(/^fleet_q_queue_age_seconds\{/m);
  expect(fromFollower).not.toMatch(/^fleet_q_steps\{/m);
  expect(fromFollower).not.toMatch(/^fleet_q_due_steps\{/m);
  expect(fromFollower).not.toMatch(/operation="queue(Age|Stats)"/);
  // The follower's runtime still uses its store: heartbeats are timed.
  expect(sample(fromFollower, 'fleet_q_store_operation_duration_seconds_count{operation="podHeartbeat"}')).toBeGreaterThan(0);
});

it('a pod reports its heartbeat age, claim batch sizes and recovery sweeps', async () => {
  world = new PodWorld();
  const { pod, app } = await servedPod('solo');
  await waitFor('solo leads', () => pod.health().isLeader);
  const ids = await Promise.all([0, 1, 2].map(() => world.submit('work', { ms: 0 })));
  for (const id of ids) await world.waitForStatus(id, 'completed');
  const run = await app.inject({ method: 'POST', url: '/admin/recovery/run', payload: {} });
  expect(run.statusCode).toBe(200);

  const text = await scrape(app);
  const age = sample(text, 'fleet_q_heartbeat_age_seconds');
  // Heartbeats every 0.1 s; the pod fences itself past 0.8 s, so a healthy pod is below that.
  expect(age).toBeGreaterThanOrEqual(0);
  expect(age).toBeLessThan(1);
  expect(sample(text, 'fleet_q_claim_batch_size_sum')).toBe(3);
  expect(sample(text, 'fleet_q_claim_batch_size_count')).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'fleet_q_recovery_sweeps_total{result="completed"}')).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'fleet_q_recovery_sweep_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(sample(text, 'fleet_q_store_operation_duration_seconds_count{operation="stepClaim"}')).toBeGreaterThanOrEqual(1);
});
