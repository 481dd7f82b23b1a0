/**
 * The end-to-end harness: real `fleet-q start` processes (the built CLI) on a shared queue. Each pod
 * runs in its own process group (detached), so a signal reaches the whole group and a kill never
 * orphans a child; every pod started here is SIGKILLed after each test and when the worker exits.
 * Also: the per-file hooks (build the CLI once, one e2e file at a time), `/health` waits, and the CLI
 * with a clean environment. Owns processes only; scenarios and assertions live in the test files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { builtCli, ROOT } from './build.js';
import type { QueueDatabase, QueueReader } from './database.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import { getJson, runCli, type HttpAnswer, type ProcessRun } from './http.js';
import { TIMING_ENV } from './timing.js';
import { freePort } from '../support/embedded-postgres.js';
import { waitFor } from '../support/wait.js';

/** The handlers module every e2e pod loads (`record`, and `spin` where E2E_SPIN_STEPS=1). */
export const HANDLERS = join(ROOT, 'test/e2e/fixtures/steps.mjs');

/** How a pod process ended. */
export interface PodExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** `Date.now()` when the test process saw the exit. */
  readonly at: number;
}

const running = new Set<PodProcess>();

/** One `fleet-q start` process. */
export class PodProcess {
  readonly exited: Promise<PodExit>;
  #exit: PodExit | null = null;
  #output = '';
  /** The incarnation id `/health` reported when the pod became healthy. */
  podId = '';

  constructor(
    /** FLEET_Q_POD_ID: the name part of every incarnation id. */
    readonly name: string,
    readonly baseUrl: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      // The tail is what explains a failure; 256 KiB of warnings is plenty.
      this.#output = (this.#output + chunk.toString('utf8')).slice(-256 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal, at: Date.now() };
        running.delete(this);
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Null while the process runs. */
  get exit(): PodExit | null {
    return this.#exit;
  }

  /** Its stdout and stderr so far (the end of it). */
  get output(): string {
    return this.#output;
  }

  /** Sends `signal` to the pod's process group. */
  signal(signal: NodeJS.Signals): void {
    process.kill(-this.pid, signal);
  }

  health(): Promise<HttpAnswer> {
    return getJson(this.baseUrl, '/health');
  }
}

/** Options of `startPod`. */
export interface StartPodOptions {
  readonly cli: string;
  readonly queue: QueueDatabase;
  readonly name: string;
  /** More variables (they override the defaults). */
  readonly env?: Readonly<Record<string, string>>;
  /** Resolve once `/health` answers 200 (default), recording the pod id. */
  readonly waitHealthy?: boolean;
}

/** The runner's environment without its own FLEET_Q_* variables, which must not leak into a pod. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET_Q_') && !k.startsWith('E2E_')));
}

/** Starts `fleet-q start` on `queue` with the fast timings and a free API port. */
export async function startPod(options: StartPodOptions): Promise<PodProcess> {
  const port = await freePort();
  const env = {
    ...cleanEnv(),
    ...TIMING_ENV,
    ...options.queue.env,
    FLEET_Q_HANDLERS: HANDLERS,
    FLEET_Q_API_PORT: String(port),
    FLEET_Q_POD_ID: options.name,
    E2E_EXECUTION_LOG: options.queue.executionLog,
    ...options.env,
  };
  const child = spawn(process.execPath, [options.cli, 'start'], { cwd: options.queue.dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pod = new PodProcess(options.name, `http://127.0.0.1:${port}`, child);
  running.add(pod);
  if (options.waitHealthy !== false) await waitHealthy(pod);
  return pod;
}

/**
 * Waits for `/health` 200 and records the pod id it reports; fails early if the process exits.
 * With `replacing`, waits for a 200 from another incarnation than that id: a pod woken from a
 * SIGSTOP may answer one last 200 under its old id before its overdue fence timer fires.
 */
export async function waitHealthy(pod: PodProcess, options: { readonly timeoutMs?: number; readonly replacing?: string } = {}): Promise<string> {
  const body = await waitFor(
    options.replacing === undefined
      ? `${pod.name} to answer /health 200`
      : `${pod.name} to answer /health 200 as another incarnation than ${options.replacing}`,
    async () => {
      if (pod.exit !== null) throw new Error(`${pod.name} exited (${JSON.stringify(pod.exit)}):\n${pod.output}`);
      const answer = await pod.health();
      return answer.status === 200 && answer.body.pod_id !== options.replacing ? answer.body : null;
    },
    { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 50 },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n--- ${pod.name} output ---\n${pod.output}`);
  });
  pod.podId = body.pod_id as string;
  return pod.podId;
}

/** Starts several pods at once. */
export function startPods(options: Omit<StartPodOptions, 'name'>, names: readonly string[]): Promise<PodProcess[]> {
  return Promise.all(names.map((name) => startPod({ ...options, name })));
}

/** SIGKILLs (group) every pod still running and waits for each exit. */
export async function killAllPods(): Promise<void> {
  const pods = [...running];
  for (const pod of pods) {
    try {
      pod.signal('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await Promise.all(pods.map((pod) => pod.exited));
}

process.once('exit', () => {
  for (const pod of running) {
    try {
      process.kill(-pod.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/** `fleet-q <args>` against `queue`, with the same variables a pod gets. */
export function queueCli(cli: string, queue: QueueDatabase, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ProcessRun> {
  return runCli(cli, args, { cwd: queue.dir, env: { ...cleanEnv(), ...TIMING_ENV, ...queue.env, FLEET_Q_HANDLERS: HANDLERS, ...env } });
}

/**
 * Registers the hooks of an e2e file: build the CLI (once per source state), then wait for the
 * other e2e files, since pods of several files at once on 2 cores would starve heartbeats and turn
 * timing bounds into noise; kill every pod after each test. `cli` is set once `beforeAll` has run.
 */
export function useE2eSuite(): { readonly cli: string } {
  const suite = { cli: '' };
  let serial: DirLock | undefined;
  beforeAll(async () => {
    suite.cli = await builtCli();
    serial = await acquireDirLock(join(ROOT, '.tmp', 'e2e-one-file-at-a-time.lock'), 10 * 60_000);
  }, 12 * 60_000);
  afterEach(killAllPods, 30_000);
  afterAll(async () => {
    await killAllPods();
    await serial?.release();
  });
  return suite;
}

/** Runs `scenario` on a queue from `make`; afterwards kills every pod, then removes the queue. */
export async function withQueue<T>(make: () => Promise<QueueDatabase>, scenario: (queue: QueueDatabase) => Promise<T>): Promise<T> {
  const queue = await make();
  try {
    return await scenario(queue);
  } finally {
    await killAllPods();
    await queue.dispose();
  }
}

/** The pods ordered as the leader rule orders them: `(birth_ts, pod_id)` of their rows. */
export async function eldestFirst(reader: QueueReader, pods: readonly PodProcess[]): Promise<PodProcess[]> {
  const rows = await reader.podList();
  const rank = (pod: PodProcess): number => rows.findIndex((row) => row.podId === pod.podId);
  if (pods.some((pod) => rank(pod) === -1)) throw new Error('a pod has no pod_health row');
  return [...pods].sort((a, b) => rank(a) - rank(b));
}
