/**
 * Every metric the Grafana dashboard and the Prometheus alert rules (deploy/) query exists on a live
 * `fleet-q start` process's GET /metrics, with the type its query assumes (`_bucket` of a histogram,
 * rate() of a counter). A renamed or dropped metric would leave a panel blank or an alert silent
 * without this check.
 */
import { expect, it } from 'vitest';
import { referencedFamilies } from '../deploy/monitoring-files.js';
import { sqliteQueue } from './database.js';
import { startPod, useE2eSuite, withQueue } from './harness.js';
import { submitStep } from './http.js';
import { waitFor } from '../support/wait.js';

const suite = useE2eSuite();

it('a live pod exposes every metric the dashboard and the alert rules reference', async () => {
  await withQueue(sqliteQueue, async (queue) => {
    const pod = await startPod({ cli: suite.cli, queue, name: 'metrics' });
    await waitFor('the pod to lead', async () => (await pod.health()).body.is_leader === true, { timeoutMs: 30_000, intervalMs: 100 });
    await submitStep(pod.baseUrl, { type: 'echo', args: {} });
    const response = await fetch(`${pod.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));

    const referenced = referencedFamilies();
    expect(referenced.size).toBeGreaterThan(10);
    const missing = [...referenced].filter(([family]) => !types.has(family)).map(([family, where]) => `${family} (${[...new Set(where)].join(', ')})`);
    expect(missing, 'referenced but not exposed').toEqual([]);
    for (const [family] of referenced) {
      // Families read with _bucket must be histograms; rate()/increase() targets end in _total (counters).
      if (family.endsWith('_total')) expect(types.get(family), family).toBe('counter');
    }
    for (const family of ['fleet_q_claim_batch_size', 'fleet_q_store_operation_duration_seconds', 'fleet_q_step_duration_seconds']) {
      expect(types.get(family), family).toBe('histogram');
    }
  });
}, 120_000);
