/**
 * A pod process's memory: one `fleet-q start` idle on an empty queue (resident set 3 s after it
 * registered, and 20 s after, once V8 has given back what start-up grew),
 * then one with FLEET_Q_MAX_PARALLELISM=1000 and threshold 1 holding 1,000 claimed `sleep` steps at
 * once (resident and peak resident set while they sleep). Read from /proc (Linux). Owns this one
 * measurement and the children it starts.
 */
import { createClient } from '../../src/client.js';
import { processMemoryMb } from './cpu.js';
import type { BenchQueue } from './database.js';
import { podConfig } from './processing.js';
import { deadChild, spawnPod, stopChild, type Child } from './processes.js';
import type { MemoryResult } from './report.js';
import { sleep } from './wait.js';

/** An idle pod has registered, checked leadership and swept once within this. */
const SETTLE_MS = 3000;
/**
 * When the idle figure is read: V8's memory reducer gives back the young generation that start-up
 * grew (module compilation allocates heavily) once allocation has stayed low for a while, 6–10 s
 * after start here (89 → 71 MB). The figure a pod holds while it waits is the one after that; the
 * reading at SETTLE_MS is printed beside it.
 */
const IDLE_STEADY_MS = 20_000;

async function waitUntil(what: string, children: readonly Child[], check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const dead = deadChild(children);
    if (dead !== null) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`memory: ${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

async function memoryOf(child: Child): Promise<{ rssMb: number; peakMb: number }> {
  const memory = child.process.pid === undefined ? null : await processMemoryMb(child.process.pid);
  if (memory === null) throw new Error('memory: /proc is not readable here');
  return memory;
}

/** Measures both figures on two fresh queues. */
export async function measureMemory(
  idleQueue: BenchQueue,
  busyQueue: BenchQueue,
  options: { readonly handlers: string; readonly sleepingSteps: number },
): Promise<MemoryResult> {
  const idle = spawnPod(idleQueue, { handlers: options.handlers, parallelism: 10 }, 0);
  let idleMemory;
  let idleEarly;
  try {
    await waitUntil('the idle pod registering', [idle], async () => (await idleQueue.podsUp().catch(() => 0)) >= 1);
    await sleep(SETTLE_MS);
    idleEarly = await memoryOf(idle);
    await sleep(IDLE_STEADY_MS - SETTLE_MS);
    idleMemory = await memoryOf(idle);
  } finally {
    await stopChild(idle);
  }

  const n = options.sleepingSteps;
  // No grace: the drain at the end releases the sleeping steps at once.
  const busy = spawnPod(busyQueue, { handlers: options.handlers, parallelism: n }, 1, { FLEET_Q_CAPACITY_THRESHOLD: '1', FLEET_Q_SHUTDOWN_GRACE_SECONDS: '0' });
  let busyMemory;
  const client = await createClient(podConfig(busyQueue, options.handlers));
  try {
    await waitUntil('the busy pod registering', [busy], async () => (await busyQueue.podsUp().catch(() => 0)) >= 1);
    // Long enough to be measured asleep; the drain's grace then releases them.
    await client.submitBatch(Array.from({ length: n }, () => ({ type: 'sleep', args: { ms: 600_000 } })));
    await waitUntil(`${n} steps claimed`, [busy], async () => (await busyQueue.counts()).claimed >= n);
    await sleep(1000);
    busyMemory = await memoryOf(busy);
  } finally {
    await client.close();
    await stopChild(busy);
  }
  return { idleRssMb: idleMemory.rssMb, idleEarlyRssMb: idleEarly.rssMb, sleepingSteps: n, busyRssMb: busyMemory.rssMb, busyPeakMb: busyMemory.peakMb };
}
