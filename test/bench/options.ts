/**
 * The benchmark's command line: which store, how many steps, which parallelisms, how long each
 * timed loop runs. Owns parsing and defaults only; must not touch a database or the environment.
 */
import { parseArgs } from 'node:util';

/** Everything a benchmark run is told, after defaults. */
export interface BenchOptions {
  readonly store: 'postgres' | 'sqlite' | 'mysql' | 'snowflake';
  /** Steps per processing run (and per bulk fill). */
  readonly steps: number;
  /** Max parallelism of each in-process processing run (capacity = floor(P × 0.8)). */
  readonly parallelism: readonly number[];
  /** Also run one pod at the largest parallelism with FLEET_Q_CAPACITY_THRESHOLD=1. */
  readonly fullCapacity: boolean;
  /** Pod processes in the multi-process run (0 skips it). */
  readonly pods: number;
  /** Max parallelism of each pod process. */
  readonly podParallelism: number;
  /** Sleeping steps held at once by the memory run's pod process (0 skips the memory figures). */
  readonly memorySteps: number;
  /** Record a CPU profile of each in-process burn-down and print its top functions. */
  readonly profile: boolean;
  /** Steps run through the machine tree alone per parallelism (0 skips it). */
  readonly treeSteps: number;
  /** Drain the same fill through the store alone at each P (store-alone.ts), to split a pod's CPU per step. */
  readonly storeAlone: boolean;
  /** Steps per `submitBatch` call (≤ 10,000). */
  readonly batchSize: number;
  /** Seconds of each single-row commit loop. */
  readonly baselineSeconds: number;
  /** Steps submitted one at a time to an idle pod for pickup latency. */
  readonly pickupSteps: number;
  readonly pickupIntervalMs: number;
  /** Seconds an idle pod is watched for its statement rate (0 skips it). */
  readonly idleSeconds: number;
  /** Keep the PostgreSQL schema or SQLite files after the run, for inspection. */
  readonly keep: boolean;
  /** Print the usage and run nothing. */
  readonly help: boolean;
  /** Run only the scale benchmark (scale.ts) with these sizes. */
  readonly scale: boolean;
  readonly scaleHistory: number;
  readonly scaleDelayed: number;
  readonly scalePending: number;
  readonly scaleClaims: number;
}

export const USAGE = `usage: npm run bench [-- options]
  --store postgres|sqlite|mysql|snowflake   default postgres: FLEET_Q_DATABASE_URL, else a throw-away embedded server;
                            mysql: FLEET_Q_DATABASE_URL (mysql://…), else FLEET_Q_TEST_MYSQL_URL;
                            snowflake: the fakesnow emulator, started as the tests start it (or
                            FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL); smaller defaults, marked (sf: …) below
  --steps N                 steps per processing run (default 20000; sf: 2000)
  --parallelism P[,P…]      max parallelism of the in-process pod runs (default 10,50,400; sf: 10,50,75, capacity 8, 40, 60)
  --no-full-capacity        skip the extra run at P=50 with FLEET_Q_CAPACITY_THRESHOLD=1 (sf: skipped unless --full-capacity)
  --full-capacity           make that run on snowflake too
  --pods K                  pod processes in the multi-process run (default 4 on postgres, 2 on sqlite, 0 on snowflake; 0 skips it)
  --pod-parallelism P       max parallelism of each pod process (default 50)
  --memory-steps N          sleeping steps one pod process holds for the memory figure (default 1000, sf: 0; 0 skips memory)
  --tree-steps N            steps through the machine tree alone, effects answered in memory (default 20000, sf: 0; 0 skips it)
  --no-store-alone          skip draining the same fill through the store alone, with no pod (sf: skipped)
  --profile                 CPU-profile each in-process burn-down and print its top functions (slows the run)
  --batch-size B            steps per submitBatch call (default 5000, at most 10000)
  --baseline-seconds S      length of each single-row commit loop (default 3)
  --pickup-steps N          steps submitted one at a time for pickup latency (default 200; sf: 20)
  --pickup-interval-ms MS   pause between those submits (default 20; sf: 500)
  --idle-seconds S          how long the idle pod is watched (default 60: one leader check; sf: after its
                            poll back-off reached its cap; 0 skips it)
  --keep                    keep the bench schema / SQLite files
  --help                    this text
  --scale                   only the scale run: claims with a million rows of history, 1,000,000-step
                            enqueue, retention pruning under claims, and the query plans
  --scale-history N         completed steps (with events) of the scale run (default 1000000)
  --scale-delayed N         steps delayed to tomorrow in the scale run (default 100000)
  --scale-pending N         due steps the scale run claims from (default 10000)
  --scale-claims N          claims timed per situation (default 300)
`;

/** Parses `argv` (without node and the script); throws an Error whose message is for the user. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      store: { type: 'string', default: 'postgres' },
      steps: { type: 'string' },
      parallelism: { type: 'string' },
      pods: { type: 'string' },
      'pod-parallelism': { type: 'string', default: '50' },
      'memory-steps': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'tree-steps': { type: 'string' },
      'batch-size': { type: 'string', default: '5000' },
      'baseline-seconds': { type: 'string', default: '3' },
      'pickup-steps': { type: 'string' },
      'pickup-interval-ms': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'no-full-capacity': { type: 'boolean', default: false },
      'no-store-alone': { type: 'boolean', default: false },
      'full-capacity': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      scale: { type: 'boolean', default: false },
      'scale-history': { type: 'string', default: '1000000' },
      'scale-delayed': { type: 'string', default: '100000' },
      'scale-pending': { type: 'string', default: '10000' },
      'scale-claims': { type: 'string', default: '300' },
    },
  });
  if (values.store !== 'postgres' && values.store !== 'sqlite' && values.store !== 'mysql' && values.store !== 'snowflake') {
    throw new Error(`--store must be postgres, sqlite, mysql or snowflake, not '${values.store}'`);
  }
  // Every emulated statement takes tens of ms: the Snowflake run is sized to finish in minutes.
  const sf = values.store === 'snowflake';
  const parallelism = (values.parallelism ?? (sf ? '10,50,75' : '10,50,400')).split(',').map((p) => integer('--parallelism', p, 1, 1000));
  return {
    store: values.store,
    steps: integer('--steps', values.steps ?? (sf ? '2000' : '20000'), 1, 10_000_000),
    parallelism,
    fullCapacity: sf ? values['full-capacity'] : !values['no-full-capacity'],
    pods: integer('--pods', values.pods ?? (values.store === 'postgres' ? '4' : sf ? '0' : '2'), 0, 16),
    podParallelism: integer('--pod-parallelism', values['pod-parallelism'], 1, 1000),
    memorySteps: integer('--memory-steps', values['memory-steps'] ?? (sf ? '0' : '1000'), 0, 1000),
    profile: values.profile,
    treeSteps: integer('--tree-steps', values['tree-steps'] ?? (sf ? '0' : '20000'), 0, 10_000_000),
    storeAlone: !sf && !values['no-store-alone'],
    batchSize: integer('--batch-size', values['batch-size'], 1, 10_000),
    baselineSeconds: number('--baseline-seconds', values['baseline-seconds'], 0.5, 600),
    pickupSteps: integer('--pickup-steps', values['pickup-steps'] ?? (sf ? '20' : '200'), 0, 100_000),
    pickupIntervalMs: integer('--pickup-interval-ms', values['pickup-interval-ms'] ?? (sf ? '500' : '20'), 1, 10_000),
    idleSeconds: number('--idle-seconds', values['idle-seconds'] ?? '60', 0, 3600),
    keep: values.keep,
    help: values.help,
    scale: values.scale,
    scaleHistory: integer('--scale-history', values['scale-history'], 1, 10_000_000),
    scaleDelayed: integer('--scale-delayed', values['scale-delayed'], 0, 10_000_000),
    scalePending: integer('--scale-pending', values['scale-pending'], 100, 1_000_000),
    scaleClaims: integer('--scale-claims', values['scale-claims'], 1, 100_000),
  };
}

function number(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${flag} must be a number from ${min} to ${max}, not '${text}'`);
  return value;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = number(flag, text, min, max);
  if (!Number.isInteger(value)) throw new Error(`${flag} must be an integer, not '${text}'`);
  return value;
}
