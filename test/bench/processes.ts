/**
 * Burn-down by pod PROCESSES: K real `fleet-q start` processes (the compiled CLI of this build, API
 * on a free port, FLEET_Q_HANDLERS = the benchmark's no-op steps) register first, then the queue is
 * filled: every pod is already waiting (LISTEN, or SQLite's change check), so all start claiming with
 * the first batch, and the fill (~10× faster than the burn-down) stays ahead of them. The steps are
 * due at once, like the in-process runs' (steps delayed to one start line would measure the claims'
 * slow path instead: run.ts measures that on its own). First the pods burn down an unreported
 * warm-up fill, as the in-process pods' runs follow one: fresh processes would otherwise spend the
 * measured steps compiling the step path. Throughput comes from the audit trail after the warm-up's
 * last event; CPU per step is the children's /proc CPU time over the measured burn-down. Statements
 * are not counted: they run in the children.
 * Owns the children's lives (spawn, SIGTERM drain, exit) and nothing else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { capacityOf } from '../../src/config/config.js';
import { processCpuMicros } from './cpu.js';
import type { BenchQueue, ServerCpuMeter } from './database.js';
import { fillQueue } from './enqueue.js';
import type { ProcessingResult } from './report.js';
import type { StatementCounter } from './statement-counter.js';
import { sleep, waitForCompletion } from './wait.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
/** Lines of a child's stderr kept for the error message when it dies. */
const KEPT_LINES = 20;

export interface ProcessesRun {
  readonly steps: number;
  /** Steps the pods burn down, unreported, before the measured fill (0: none). */
  readonly warmupSteps: number;
  readonly pods: number;
  readonly parallelism: number;
  readonly batchSize: number;
  readonly handlers: string;
  readonly counter: StatementCounter;
  /** Starts counting the database server's CPU (BenchDatabase.serverCpu). */
  readonly serverCpu: () => Promise<ServerCpuMeter | null>;
}

export interface Child {
  readonly process: ChildProcess;
  readonly stderr: string[];
  exitCode: number | null | undefined;
}

/** Spawns one `fleet-q start` on `queue` with `extra` variables (API on a free port, quiet logs). */
export function spawnPod(queue: BenchQueue, run: Pick<ProcessesRun, 'handlers' | 'parallelism'>, index: number, extra: Record<string, string> = {}): Child {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET_Q_')));
  Object.assign(env, queue.env, {
    FLEET_Q_HANDLERS: run.handlers,
    FLEET_Q_MAX_PARALLELISM: String(run.parallelism),
    FLEET_Q_API_PORT: '0',
    FLEET_Q_LOG_LEVEL: 'warn',
    FLEET_Q_POD_ID: `bench-${index}`,
    ...extra,
  });
  const child: Child = { process: spawn(process.execPath, [CLI, 'start'], { env, stdio: ['ignore', 'ignore', 'pipe'] }), stderr: [], exitCode: undefined };
  child.process.stderr!.setEncoding('utf8').on('data', (text: string) => {
    child.stderr.push(...text.split('\n').filter((l) => l !== ''));
    child.stderr.splice(0, Math.max(0, child.stderr.length - KEPT_LINES));
  });
  child.process.on('exit', (code) => {
    child.exitCode = code;
  });
  return child;
}

/** Why a child is gone, or null while all live. */
export function deadChild(children: readonly Child[]): string | null {
  const dead = children.find((c) => c.exitCode !== undefined);
  return dead === undefined ? null : `pod process exited with ${dead.exitCode}: ${dead.stderr.join('\n')}`;
}

/** Spawns the pods, fills the queue, waits for the burn-down, drains the pods with SIGTERM. */
export async function processWithPodProcesses(queue: BenchQueue, run: ProcessesRun): Promise<ProcessingResult> {
  const children = Array.from({ length: run.pods }, (_, i) => spawnPod(queue, run, i));
  let cpuMicros: number | null;
  let dbCpuMicros: number | null;
  let warmupEvents: number;
  try {
    // A pod process migrates the tables as it starts; reads before that would find none.
    for (let waited = 0; ; waited += 100) {
      const dead = deadChild(children);
      if (dead !== null) throw new Error(dead);
      if (waited > 30_000) throw new Error('pod processes did not register within 30 s');
      if ((await queue.podsUp().catch(() => 0)) >= run.pods) break;
      await sleep(100);
    }
    const fill = { batchSize: run.batchSize, handlers: run.handlers, counter: run.counter };
    if (run.warmupSteps > 0) {
      await fillQueue(queue, { ...fill, steps: run.warmupSteps });
      await waitForCompletion(queue, run.warmupSteps, 30_000, () => deadChild(children));
    }
    warmupEvents = (await queue.window()).lastEventId;
    const cpuBefore = await childrenCpu(children);
    const serverCpu = await run.serverCpu();
    await fillQueue(queue, { ...fill, steps: run.steps });
    await waitForCompletion(queue, run.warmupSteps + run.steps, 30_000, () => deadChild(children));
    const cpuAfter = await childrenCpu(children);
    // The fill's inserts are counted too, as in the processes' own CPU: they claim while it runs.
    dbCpuMicros = serverCpu === null ? null : await serverCpu();
    cpuMicros = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
  }
  const window = await queue.window(warmupEvents);
  const seconds = ((window.lastCompleteMs ?? Number.NaN) - (window.firstClaimMs ?? Number.NaN)) / 1000;
  return {
    label: 'pod processes (fleet-q start)',
    pods: run.pods,
    mode: 'processes',
    parallelism: run.parallelism,
    capacityThreshold: 0.8,
    capacity: capacityOf({ maxParallelism: run.parallelism, capacityThreshold: 0.8 }),
    steps: run.steps,
    seconds,
    perSecond: run.steps / seconds,
    statementsPerStep: null,
    statements: null,
    baselineConcurrency: run.pods * run.parallelism,
    cpuMicrosPerStep: cpuMicros === null ? null : cpuMicros / run.steps,
    dbCpuMicrosPerStep: dbCpuMicros === null ? null : dbCpuMicros / run.steps,
    profile: null,
  };
}

async function childrenCpu(children: readonly Child[]): Promise<number | null> {
  const times = await Promise.all(children.map((c) => (c.process.pid === undefined ? null : processCpuMicros(c.process.pid))));
  return times.some((t) => t === null) ? null : times.reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** SIGTERM (the pod drains and exits 0); SIGKILL after 30 s. */
export async function stopChild(child: Child): Promise<void> {
  if (child.exitCode !== undefined) return;
  const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
