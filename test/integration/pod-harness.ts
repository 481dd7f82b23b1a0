/**
 * Harness of the pod integration tests: real pods (createPod) on one real SQLite file in a temp dir,
 * with small fractional intervals, an inspection store on the same file, test step types that record
 * every execution on the handler side, and gates a test opens by hand. No fakes: the only
 * thing a test controls is its own handlers and what it writes through the Store API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { EVENT_NAMES } from '../../machines/index.js';
import { loadConfig, type FleetConfig, type FleetConfigInput } from '../../src/config/config.js';
import { NonRetryableError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { FleetMetrics } from '../../src/metrics.js';
import { createPod, type Pod } from '../../src/pod/pod.js';
import type { ScheduleDefinition } from '../../src/schedules/definition.js';
import { defineStep, type AnyStepDefinition, type StepContext, type StepDefinition } from '../../src/steps/registry.js';
import { openStore } from '../../src/store/open.js';
import type { Json, StepEvent, StepSubmitParams, Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';

/** Heartbeat 0.1 s, dead after 1 s, latency budget 0.45 s (fence window 0.55 s), leader check 0.2 s, sweep 0.3 s, backoff 50→200 ms. */
export const FAST_TIMINGS: Partial<FleetConfigInput> = {
  heartbeatIntervalSeconds: 0.1,
  deadPodThresholdSeconds: 1,
  heartbeatLatencyBudgetSeconds: 0.45,
  leaderCheckIntervalSeconds: 0.2,
  recoveryIntervalSeconds: 0.3,
  claimIntervalSeconds: 0.5,
  baseDelayMs: 50,
  maxDelayMs: 200,
  shutdownGraceSeconds: 0.3,
  maxParallelism: 2,
  capacityThreshold: 1,
  logLevel: 'debug',
};

/** One handler run as the handler saw it. */
export interface Execution {
  readonly pod: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  startedAt: number;
  endedAt?: number;
  abortedAt?: number;
  abortReason?: string;
}

/** A promise the test resolves by hand. */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Per-test world: one SQLite file (or the `base` store), its pods, an inspection store, the execution log and every log line. */
export class PodWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleet-q-pod-'));
  readonly dbPath = join(this.dir, 'queue.db');
  readonly executions: Execution[] = [];
  readonly logLines: Record<string, unknown>[] = [];
  /** Gates by step id, for steps of type `hold`. */
  readonly gates = new Map<string, Gate>();
  readonly pods: Pod[] = [];
  #store: Store | undefined;

  /** `base`: configuration every pod and the inspection store share (e.g. a PostgreSQL URL and schema). */
  constructor(private readonly base: Partial<FleetConfigInput> = {}) {}

  config(overrides: Partial<FleetConfigInput> = {}): FleetConfig {
    return loadConfig({}, { ...FAST_TIMINGS, storageMode: 'sqlite', sqliteDbPath: this.dbPath, ...this.base, ...overrides });
  }

  /** The inspection store (the test's own connection to the file). */
  async store(): Promise<Store> {
    this.#store ??= await openStore(this.config());
    return this.#store;
  }

  /**
   * A started pod named `name` running the test step types: on its own store opened from the config,
   * or on `options.store` (which the test then owns and closes).
   */
  async startPod(
    name: string,
    overrides: Partial<FleetConfigInput> = {},
    options: { store?: Store; metrics?: FleetMetrics; schedules?: readonly ScheduleDefinition[] } = {},
  ): Promise<Pod> {
    const config = this.config({ podId: name, ...overrides });
    // A store judges liveness by its own policy: one opened with other timings than the pod's makes a
    // healthy pod look dead to itself (a flaky fence that is the test's doing, not the pod's).
    const threshold = options.store?.policy.deadPodThresholdMs;
    if (threshold !== undefined && threshold !== config.deadPodThresholdSeconds * 1000) {
      throw new Error(`startPod(${name}): the given store's dead-pod threshold is ${threshold} ms, the pod's ${config.deadPodThresholdSeconds * 1000} ms`);
    }
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') this.logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const pod = createPod({ config, steps: this.steps(name), logger: createLogger(config, { test_pod: name }, sink), ...options });
    this.pods.push(pod);
    await pod.start();
    await waitFor(`${name} registered`, () => pod.podId !== null);
    return pod;
  }

  async submit(type: string, args: Json = {}, overrides: Partial<StepSubmitParams> = {}): Promise<string> {
    const store = await this.store();
    const { stepId } = await store.stepSubmit({ type, args, maxRetries: 3, timeoutMs: 60_000, ...overrides });
    return stepId;
  }

  async events(stepId?: string): Promise<StepEvent[]> {
    return (await this.store()).eventList(stepId === undefined ? {} : { stepId });
  }

  async kinds(stepId: string): Promise<string[]> {
    return (await this.events(stepId)).map((e) => e.kind);
  }

  async waitForStatus(stepId: string, status: string, timeoutMs = 10_000): Promise<void> {
    const store = await this.store();
    await waitFor(`${stepId} ${status}`, async () => (await store.stepGet({ stepId }))?.status === status, timeoutMs);
  }

  /** Log lines with `event` = `name`. */
  logged(name: string): Record<string, unknown>[] {
    return this.logLines.filter((l) => l['event'] === name);
  }

  /** `event` values logged that are not in the one vocabulary of machines/events.ts. */
  unknownEventNames(): string[] {
    const names = new Set(this.logLines.map((l) => l['event']).filter((e): e is string => typeof e === 'string'));
    return [...names].filter((name) => !EVENT_NAMES.includes(name));
  }

  executionsOf(stepId: string): Execution[] {
    return this.executions.filter((e) => e.stepId === stepId);
  }

  async close(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.stop()));
    await this.#store?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * The step types of pod `pod`:
   * - `work { ms }` sleeps `ms` (ending early with an error when aborted);
   * - `flaky { times }` fails its first `times` attempts;
   * - `fatal` throws NonRetryableError; `picky` throws an error its `retryable` refuses;
   * - `hold` waits for the test's gate of its step id, ignoring its signal, then succeeds;
   * - `abortable` waits until its signal aborts on attempt 1, then fails; later attempts succeed;
   * - `big` returns a result over 256 KiB;
   * - `progressing { ticks, everyMs }` reports `{ tick }` progress every `everyMs`, then returns;
   * - `extending { ms, extendMs }` calls `ctx.extend(extendMs)`, then works like `work { ms }`.
   */
  steps(pod: string): AnyStepDefinition[] {
    const run = <A>(
      type: string,
      args: z.ZodType<A>,
      body: (args: A, exec: Execution, signal: AbortSignal, ctx: StepContext) => Promise<unknown>,
      extra: Partial<StepDefinition<A>> = {},
    ) =>
      defineStep({
        type,
        args,
        ...extra,
        handler: async (parsed: A, ctx) => {
          const exec: Execution = { pod, stepId: ctx.stepId, attempt: ctx.attempt, idempotencyKey: ctx.idempotencyKey, startedAt: Date.now() };
          this.executions.push(exec);
          ctx.signal.addEventListener('abort', () => {
            exec.abortedAt = Date.now();
            exec.abortReason = String((ctx.signal.reason as Error | undefined)?.message);
          });
          try {
            return await body(parsed, exec, ctx.signal, ctx);
          } finally {
            exec.endedAt = Date.now();
          }
        },
      });
    return [
      run('work', z.object({ ms: z.number().default(0) }), ({ ms }, _exec, signal) => sleep(ms, signal).then(() => ({ ok: true }))),
      run('flaky', z.object({ times: z.number() }), async ({ times }, exec) => {
        if (exec.attempt <= times) throw new Error(`flaky attempt ${exec.attempt}`);
        return { attempt: exec.attempt };
      }),
      run('fatal', z.object({}), async () => {
        throw new NonRetryableError('cannot ever work');
      }),
      run(
        'picky',
        z.object({}),
        async () => {
          throw new Error('picky refuses');
        },
        { retryable: (err) => !(err instanceof Error && err.message === 'picky refuses') },
      ),
      run('hold', z.object({}), async (_args, exec) => {
        const g = this.gates.get(exec.stepId);
        if (g === undefined) throw new Error(`no gate for ${exec.stepId}`);
        await g.promise;
        return { held: true };
      }),
      run('abortable', z.object({}), async (_args, exec, signal) => {
        if (exec.attempt > 1) return { attempt: exec.attempt };
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        throw new Error('aborted');
      }),
      run('big', z.object({}), async () => 'x'.repeat(300 * 1024)),
      run('progressing', z.object({ ticks: z.number(), everyMs: z.number() }), async ({ ticks, everyMs }, _exec, signal, ctx) => {
        for (let tick = 1; tick <= ticks; tick++) {
          await sleep(everyMs, signal);
          ctx.progress({ tick });
        }
        return { ticks };
      }),
      run('extending', z.object({ ms: z.number(), extendMs: z.number() }), async ({ ms, extendMs }, _exec, signal, ctx) => {
        ctx.extend(extendMs);
        await sleep(ms, signal);
        return { ok: true };
      }),
    ];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
