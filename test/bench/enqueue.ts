/**
 * Bulk enqueue: fills a queue through `createClient().submitBatch()` in this process, the way a
 * producer would, and times it. Owns the fill only; the client opens (and migrates) the queue's
 * tables before the clock starts.
 */
import { createClient } from '../../src/client.js';
import { loadConfig } from '../../src/config/config.js';
import type { Submission } from '../../src/steps/submission.js';
import type { BenchQueue } from './database.js';
import type { StatementCounter } from './statement-counter.js';

/** One fill, timed from the first submitBatch call to the last answer. */
export interface EnqueueResult {
  readonly steps: number;
  readonly batchSize: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Statements the client ran during the fill, per batch. */
  readonly statementsPerBatch: number;
}

/**
 * Submits `steps` steps of `type` in batches of `batchSize`. `delayMs` (from now, per batch) makes
 * them claimable only later, so pods started afterwards all see the same starting line.
 */
export async function fillQueue(
  queue: BenchQueue,
  options: {
    readonly steps: number;
    readonly batchSize: number;
    readonly handlers: string;
    readonly counter: StatementCounter;
    readonly type?: string;
    readonly claimableAt?: number;
  },
): Promise<EnqueueResult> {
  const config = loadConfig({ ...queue.env, FLEET_Q_HANDLERS: options.handlers, FLEET_Q_LOG_LEVEL: 'warn' });
  const client = await createClient(config);
  try {
    const batches: Submission[][] = [];
    for (let done = 0; done < options.steps; done += options.batchSize) {
      const size = Math.min(options.batchSize, options.steps - done);
      batches.push(Array.from({ length: size }, () => ({ type: options.type ?? 'noop', args: {} })));
    }
    options.counter.reset();
    const started = performance.now();
    for (const batch of batches) {
      const delay = options.claimableAt === undefined ? 0 : Math.max(0, Math.ceil(options.claimableAt - Date.now()));
      await client.submitBatch(delay === 0 ? batch : batch.map((s) => ({ ...s, delay_ms: delay })));
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      steps: options.steps,
      batchSize: options.batchSize,
      seconds,
      perSecond: options.steps / seconds,
      statementsPerBatch: options.counter.snapshot().total / batches.length,
    };
  } finally {
    await client.close();
  }
}
