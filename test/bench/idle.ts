/**
 * An idle pod's cost to the database: one in-process pod with the production default intervals on
 * an empty queue, watched for a while after its start-up burst; every statement it runs is counted
 * and extrapolated to a minute, heartbeats and the leader's sweeps apart from the rest, and the CPU
 * the (otherwise idle) benchmark process spends meanwhile. Owns this one measurement.
 */
import { createPod } from '../../src/pod/pod.js';
import { cpuMeter } from './cpu.js';
import type { BenchQueue } from './database.js';
import { podConfig } from './processing.js';
import type { IdleResult } from './report.js';
import { countOf, HEARTBEAT_LABELS, SWEEP_LABELS, type StatementCounter } from './statement-counter.js';
import { sleep } from './wait.js';

export async function measureIdle(
  queue: BenchQueue,
  options: {
    readonly seconds: number;
    readonly handlers: string;
    readonly counter: StatementCounter;
    /** Registration, the first leader check and the first sweep happen at start; they are not idling. */
    readonly settleMs: number;
  },
): Promise<IdleResult> {
  const pod = createPod({ config: podConfig(queue, options.handlers) });
  let counts;
  let cpuMicros: number;
  try {
    await pod.start();
    await sleep(options.settleMs);
    options.counter.reset();
    const cpu = cpuMeter();
    await sleep(options.seconds * 1000);
    cpuMicros = cpu();
    counts = options.counter.snapshot();
  } finally {
    await pod.drain();
  }
  const perMinute = (n: number) => (n * 60) / options.seconds;
  const heartbeats = countOf(counts, HEARTBEAT_LABELS);
  const sweeps = countOf(counts, SWEEP_LABELS);
  return {
    seconds: options.seconds,
    cpuShare: cpuMicros / (options.seconds * 1_000_000),
    perMinute: {
      total: perMinute(counts.total),
      heartbeats: perMinute(heartbeats),
      sweeps: perMinute(sweeps),
      rest: perMinute(counts.total - heartbeats - sweeps),
    },
    byLabel: counts.byLabel,
  };
}
