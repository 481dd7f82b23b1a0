/**
 * `npm run bench -- --scale`: does a claim cost the same with a million rows of history? Fills two
 * queues — one empty but for the steps to claim, one with `history` completed steps (and their
 * events) dated past retention plus `delayed` steps due tomorrow — and times claims of 10 on each,
 * idle (nothing due) and busy (`pending` due steps); times bulk enqueue of the history against a
 * 5,000-step fill; then prunes the history while a second store keeps claiming, and reports how
 * long a claim waited. Prints the plans the claims relied on. Owns the order of these phases; a
 * benchmark, not a test: it asserts nothing.
 */
import { createClient } from '../../src/client.js';
import { loadConfig } from '../../src/config/config.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import type { BenchDatabase, BenchQueue } from './database.js';
import { fillQueue, type EnqueueResult } from './enqueue.js';
import { openScaleFixture } from './scale-fixture.js';
import type { StatementCounter } from './statement-counter.js';
import { percentile, sleep } from './wait.js';

const DAY = 86_400_000;
const POD = 'scale-00000001';
const META = { max_parallelism: 12, capacity: 10, in_flight: 0, version: 'bench', host: 'bench' };
/** The claim size of a pod at the default P=10 × 0.8, rounded up. */
const CLAIM_LIMIT = 10;

export interface ScaleOptions {
  readonly history: number;
  readonly delayed: number;
  readonly pending: number;
  readonly claims: number;
  readonly batchSize: number;
  readonly handlers: string;
  readonly counter: StatementCounter;
  readonly progress: (message: string) => void;
}

/** Claim latencies of one situation, ms. */
export interface ClaimTiming {
  readonly claims: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ScaleResult {
  readonly history: number;
  readonly delayed: number;
  readonly pending: number;
  readonly enqueueSmall: EnqueueResult;
  readonly enqueueLarge: EnqueueResult;
  readonly empty: { readonly idle: ClaimTiming; readonly busy: ClaimTiming };
  readonly full: { readonly idle: ClaimTiming; readonly busy: ClaimTiming };
  readonly prune: { readonly steps: number; readonly events: number; readonly seconds: number; readonly claimsDuring: ClaimTiming };
  /** Query plans by situation, in the order they were taken. */
  readonly plans: Readonly<Record<string, string>>;
}

function timing(samples: readonly number[]): ClaimTiming {
  return { claims: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples) };
}

async function openQueueStore(queue: BenchQueue, handlers: string): Promise<Store> {
  return openStore(loadConfig({ ...queue.env, FLEET_Q_HANDLERS: handlers, FLEET_Q_LOG_LEVEL: 'warn' }));
}

/**
 * `count` rounds of one claim of up to CLAIM_LIMIT steps on each store in turn, each timed: the
 * empty and the full queue alternate, so load from elsewhere on the machine hits both alike.
 */
async function timeClaims(stores: readonly Store[], count: number): Promise<ClaimTiming[]> {
  const samples = stores.map((): number[] => []);
  for (let i = 0; i < count; i++) {
    for (const [j, store] of stores.entries()) {
      const started = performance.now();
      await store.stepClaim({ podId: POD, types: ['noop'], limit: CLAIM_LIMIT });
      samples[j]!.push(performance.now() - started);
    }
  }
  return samples.map(timing);
}

/** Submits `steps` steps (delayed by `delayMs`) without timing; the fill that is timed is `fillQueue`. */
async function submitSteps(queue: BenchQueue, options: ScaleOptions, steps: number, delayMs: number): Promise<void> {
  const client = await createClient(loadConfig({ ...queue.env, FLEET_Q_HANDLERS: options.handlers, FLEET_Q_LOG_LEVEL: 'warn' }));
  try {
    for (let done = 0; done < steps; done += options.batchSize) {
      const size = Math.min(options.batchSize, steps - done);
      await client.submitBatch(Array.from({ length: size }, () => ({ type: 'noop', args: {}, ...(delayMs > 0 ? { delay_ms: delayMs } : {}) })));
    }
  } finally {
    await client.close();
  }
}

/** Runs every phase on two fresh queues of `db`. */
export async function measureScale(db: BenchDatabase, options: ScaleOptions): Promise<ScaleResult> {
  const fill = { batchSize: options.batchSize, handlers: options.handlers, counter: options.counter };
  await fillQueue(await db.queue('scale_warmup'), { ...fill, steps: options.batchSize });

  options.progress('bulk enqueue of 5,000 steps into each of three fresh queues');
  // The median of three: one 5,000-step fill is one statement, so a single hiccup of a busy host moves it.
  const small: EnqueueResult[] = [];
  for (const name of ['scale_5k_a', 'scale_5k_b', 'scale_5k_c']) small.push(await fillQueue(await db.queue(name), { ...fill, steps: 5_000 }));
  const enqueueSmall = [...small].sort((a, b) => a.perSecond - b.perSecond)[1]!;
  const emptyQueue = await db.queue('scale_empty');
  const queue = await db.queue('scale_full');
  options.progress(`bulk enqueue of ${options.history} steps`);
  const enqueueLarge = await fillQueue(queue, { ...fill, steps: options.history });
  const emptyStore = await openQueueStore(emptyQueue, options.handlers);
  const store = await openQueueStore(queue, options.handlers);
  const emptyFixture = await openScaleFixture(emptyQueue);
  const fixture = await openScaleFixture(queue);
  const plans: Record<string, string> = {};
  try {
    options.progress(`completing them 40 days ago, with their events; then ${options.delayed} steps due tomorrow`);
    await fixture.completeAllPending('history-00000001', Date.now() - 40 * DAY);
    await submitSteps(queue, options, options.delayed, DAY);
    await fixture.analyze();
    for (const s of [emptyStore, store]) await s.podRegister({ podId: POD, name: 'scale', meta: META });
    plans['claim, empty queue, nothing due'] = await emptyFixture.claimPlan(POD, ['noop']);
    plans['claim, full queue, nothing due'] = await fixture.claimPlan(POD, ['noop']);
    options.progress(`${options.claims} idle claims on each queue, alternating`);
    const [emptyIdle, fullIdle] = await timeClaims([emptyStore, store], options.claims);
    for (const q of [emptyQueue, queue]) await submitSteps(q, options, options.pending, 0);
    const busyClaims = Math.min(options.claims, Math.floor(options.pending / CLAIM_LIMIT / 2));
    options.progress(`${options.pending} due steps on each queue; ${busyClaims} busy claims on each, alternating`);
    const [emptyBusy, fullBusy] = await timeClaims([emptyStore, store], busyClaims);
    plans[`claim, empty queue, ${options.pending} due`] = await emptyFixture.claimPlan(POD, ['noop']);
    plans[`claim, full queue, ${options.pending} due`] = await fixture.claimPlan(POD, ['noop']);
    plans['one retention batch, full queue'] = await fixture.prunePlan();
    const empty = { idle: emptyIdle!, busy: emptyBusy! };
    const full = { idle: fullIdle!, busy: fullBusy! };
    await submitSteps(queue, options, options.pending, 0);

    options.progress(`pruning ${options.history} expired steps while a second store claims every 10 ms`);
    const claimer = await openQueueStore(queue, options.handlers);
    const during: number[] = [];
    let pruning = true;
    const claimLoop = (async () => {
      while (pruning) {
        const started = performance.now();
        await claimer.stepClaim({ podId: POD, types: ['noop'], limit: 1 });
        during.push(performance.now() - started);
        await sleep(10);
      }
    })();
    const started = performance.now();
    const pruned = await store.retentionPrune({ olderThanMs: 30 * DAY });
    const seconds = (performance.now() - started) / 1000;
    pruning = false;
    await claimLoop;
    await claimer.close();
    return {
      history: options.history,
      delayed: options.delayed,
      pending: options.pending,
      enqueueSmall,
      enqueueLarge,
      empty,
      full,
      prune: { steps: pruned.steps, events: pruned.events, seconds, claimsDuring: timing(during) },
      plans,
    };
  } finally {
    for (const closable of [store, emptyStore, fixture, emptyFixture]) await closable.close();
  }
}
