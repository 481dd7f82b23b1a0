/**
 * Pickup latency: an idle in-process pod, and steps submitted one at a time through `createClient`
 * at a fixed pace. Latency = the handler's start (noted by the `noop.timed` handler) − the moment the
 * submit call returned (its transaction had committed). Owns this one measurement.
 */
import { createClient } from '../../src/client.js';
import { createPod } from '../../src/pod/pod.js';
import type { BenchQueue } from './database.js';
import { podConfig } from './processing.js';
import type { PickupResult } from './report.js';
import { handlerStarts } from './steps.js';
import { percentile, sleep } from './wait.js';

/** Seconds an idle pod gets to settle (first leader check, sweep, LISTEN connection) before submits start. */
const SETTLE_MS = 1000;
const DRAIN_TIMEOUT_MS = 10_000;

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function measurePickup(
  queue: BenchQueue,
  options: { readonly steps: number; readonly intervalMs: number; readonly handlers: string },
): Promise<PickupResult> {
  const config = podConfig(queue, options.handlers);
  const client = await createClient(config);
  const pod = createPod({ config });
  const submitted = new Map<string, number>();
  try {
    await pod.start();
    await sleep(SETTLE_MS);
    const start = nowMs();
    for (let i = 0; i < options.steps; i++) {
      const due = start + i * options.intervalMs;
      if (due > nowMs()) await sleep(due - nowMs());
      const { step_id } = await client.submit({ type: 'noop.timed', args: {} });
      submitted.set(step_id, nowMs());
    }
    const deadline = nowMs() + DRAIN_TIMEOUT_MS;
    while ([...submitted.keys()].some((id) => !handlerStarts.has(id))) {
      if (nowMs() > deadline) throw new Error(`pickup: ${[...submitted.keys()].filter((id) => !handlerStarts.has(id)).length} steps never started`);
      await sleep(20);
    }
  } finally {
    await pod.drain();
    await client.close();
  }
  const latencies = [...submitted].map(([id, at]) => handlerStarts.get(id)! - at);
  return {
    steps: latencies.length,
    intervalMs: options.intervalMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    minMs: Math.min(...latencies),
    meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
}
