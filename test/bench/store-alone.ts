/**
 * The store alone: a filled queue drained by claims of floor(0.8 × P) steps, each batch completed with
 * one `stepCompleteMany`, one after the other, with no pod around them (no actors, no handlers, no
 * batcher, no telemetry). CPU µs per step here is what the store and its driver cost this process
 * (on SQLite that is the database's own work too); with the machine tree alone (tree.ts) it splits a
 * pod's CPU per step into the part the database access pays and the part the runtime does. Owns this
 * one measurement; the fill is enqueue.ts's, and nothing here is used by a test or a pod.
 */
import { capacityOf } from '../../src/config/config.js';
import { openStore } from '../../src/store/open.js';
import { cpuMeter } from './cpu.js';
import type { BenchQueue, ServerCpuMeter } from './database.js';
import { podConfig } from './processing.js';
import type { StoreAloneResult } from './report.js';

/** Settings of one store-alone run. */
export interface StoreAloneRun {
  readonly steps: number;
  /** Claims take floor(0.8 × parallelism) steps, as a pod's first claim at the default threshold. */
  readonly parallelism: number;
  readonly handlers: string;
  readonly serverCpu?: () => Promise<ServerCpuMeter | null>;
}

/** Drains the already filled `queue` (no-op steps of type `noop`) through the store alone. */
export async function measureStoreAlone(queue: BenchQueue, run: StoreAloneRun): Promise<StoreAloneResult> {
  const config = podConfig(queue, run.handlers);
  const store = await openStore(config);
  const podId = 'bench-store-alone';
  const capacity = capacityOf({ maxParallelism: run.parallelism, capacityThreshold: 0.8 });
  try {
    await store.podRegister({
      podId,
      name: podId,
      meta: { max_parallelism: run.parallelism, capacity, in_flight: 0, version: 'bench', host: 'bench' },
    });
    const serverCpu = (await run.serverCpu?.()) ?? null;
    const cpu = cpuMeter();
    const started = performance.now();
    let completed = 0;
    let claims = 0;
    while (completed < run.steps) {
      const claimed = await store.stepClaim({ podId, types: ['noop'], limit: capacity });
      claims++;
      if (claimed.length === 0) throw new Error(`store alone: the queue ran dry after ${completed} of ${run.steps} steps`);
      const outcomes = await store.stepCompleteMany({
        items: claimed.map((s) => ({ podId, stepId: s.stepId, attempt: s.attempt, result: null })),
      });
      const stale = outcomes.filter((o) => o.outcome !== 'completed').length;
      if (stale > 0) throw new Error(`store alone: ${stale} completions were refused`);
      completed += claimed.length;
    }
    const cpuMicros = cpu();
    const seconds = (performance.now() - started) / 1000;
    const dbCpuMicros = serverCpu === null ? null : await serverCpu();
    await store.podMarkDown({ podId });
    return {
      parallelism: run.parallelism,
      capacity,
      steps: completed,
      claims,
      seconds,
      perSecond: completed / seconds,
      cpuMicrosPerStep: cpuMicros / completed,
      dbCpuMicrosPerStep: dbCpuMicros === null ? null : dbCpuMicros / completed,
    };
  } finally {
    await store.close();
  }
}
