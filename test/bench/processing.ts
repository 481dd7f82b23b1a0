/**
 * Burn-down by one in-process pod: a queue filled beforehand with no-op steps is drained by
 * `createPod` at a given parallelism, while every statement the pod runs is counted. Throughput is
 * taken from the audit trail (first `claimed` to last `completed`), so neither the pod's start-up nor
 * this file's completion polling is in it. CPU per step is this process's `process.cpuUsage` from the
 * pod's start to the last completion, divided by the steps (start-up and the 200 ms progress reads
 * included: they add ~1–2 µs per step at 20,000 steps). Owns this one measurement; the fill is enqueue.ts's.
 */
import { capacityOf, loadConfig } from '../../src/config/config.js';
import { createPod } from '../../src/pod/pod.js';
import { cpuMeter, startProfiler, type Profiler } from './cpu.js';
import type { BenchQueue, ServerCpuMeter } from './database.js';
import type { ProcessingResult } from './report.js';
import type { StatementCounter } from './statement-counter.js';
import { waitForCompletion } from './wait.js';

/** Settings of one in-process run. */
export interface InProcessRun {
  readonly label: string;
  readonly steps: number;
  readonly parallelism: number;
  readonly capacityThreshold: number;
  readonly handlers: string;
  readonly counter: StatementCounter;
  /** Record a CPU profile of the burn-down and report its top functions. */
  readonly profile: boolean;
  /** Starts counting the database server's CPU (BenchDatabase.serverCpu); left out, it is not measured. */
  readonly serverCpu?: () => Promise<ServerCpuMeter | null>;
}

/** A pod configuration over `queue` (quiet logs, no HTTP: an in-process pod serves none). */
export function podConfig(queue: BenchQueue, handlers: string, extra: Record<string, string> = {}) {
  return loadConfig({ ...queue.env, FLEET_Q_HANDLERS: handlers, FLEET_Q_LOG_LEVEL: 'warn', FLEET_Q_POD_ID: 'bench', ...extra });
}

/** Drains the already filled `queue` with one pod; resolves once every step completed and the pod drained. */
export async function processInProcess(queue: BenchQueue, run: InProcessRun): Promise<ProcessingResult> {
  const config = podConfig(queue, run.handlers, {
    FLEET_Q_MAX_PARALLELISM: String(run.parallelism),
    FLEET_Q_CAPACITY_THRESHOLD: String(run.capacityThreshold),
  });
  const pod = createPod({ config });
  run.counter.reset();
  const profiler: Profiler | null = run.profile ? await startProfiler() : null;
  const serverCpu = (await run.serverCpu?.()) ?? null;
  const cpu = cpuMeter();
  await pod.start();
  let statements;
  let cpuMicros: number;
  let dbCpuMicros: number | null;
  let profile;
  try {
    await waitForCompletion(queue, run.steps);
    cpuMicros = cpu();
    dbCpuMicros = serverCpu === null ? null : await serverCpu();
    statements = run.counter.snapshot();
    profile = (await profiler?.stop()) ?? null;
  } finally {
    await pod.drain();
  }
  const window = await queue.window();
  const seconds = ((window.lastCompleteMs ?? Number.NaN) - (window.firstClaimMs ?? Number.NaN)) / 1000;
  return {
    label: run.label,
    pods: 1,
    mode: 'in-process',
    parallelism: run.parallelism,
    capacityThreshold: run.capacityThreshold,
    capacity: capacityOf(config),
    steps: run.steps,
    seconds,
    perSecond: run.steps / seconds,
    statementsPerStep: statements.total / run.steps,
    statements,
    baselineConcurrency: run.parallelism,
    cpuMicrosPerStep: cpuMicros / run.steps,
    dbCpuMicrosPerStep: dbCpuMicros === null ? null : dbCpuMicros / run.steps,
    profile,
  };
}
