/**
 * WAL checkpoints off the event loop. In WAL mode every commit appends pages to the `-wal` file, and
 * by default the committing connection copies them back into the database file once the WAL holds
 * 1,000 pages (an automatic checkpoint: page writes and two fsyncs), blocking the pod's event loop
 * while it does. Once a store writes steadily, this starts a worker thread with its own
 * connection that runs `PRAGMA wal_checkpoint(PASSIVE)` every few milliseconds while the WAL grows,
 * and the store raises its own automatic checkpoint to `FALLBACK_AUTOCHECKPOINT_PAGES`, a safety net
 * for a worker that falls behind or dies (then the store's own default comes back). A passive
 * checkpoint never waits for a lock and never blocks a writer or reader, so the worker cannot slow
 * the store down; when it catches up between two write transactions, the next one usually starts
 * the WAL over from the beginning (not while another connection still reads an older snapshot, so
 * the WAL file can grow past 1,000 pages, up to the fallback). Owns the worker's life; it must not
 * write rows.
 *
 * Started lazily: a worker thread costs ~10 MB of RSS, which an idle pod should not pay.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A store's write transactions within this many milliseconds of the previous `STEADY_WRITES` mark mean steady writing. */
export const STEADY_WINDOW_MS = 10_000;
/** Write transactions between two looks at the clock. */
export const STEADY_WRITES = 256;
/** The store's own automatic checkpoint while the worker runs: ~40 MB of WAL at 4 KiB pages. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;
/** SQLite's default, restored when the worker stops. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;

/**
 * Pause between checkpoints while the WAL grows, and once it has not grown for `QUIET_TICKS` of
 * them. Not idle after one quiet look: a pod writes in bursts a few milliseconds apart, and a worker
 * that slept through the next burst would let the WAL grow to the fallback instead of starting over.
 */
const BUSY_INTERVAL_MS = 10;
const IDLE_INTERVAL_MS = 250;
const QUIET_TICKS = 25;

/**
 * The worker, as source: a worker thread cannot load this package's TypeScript under the test
 * runner, and the code is small. CommonJS, as `eval` workers are.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
const checkpoint = db.prepare(workerData.checkpointSql);
let lastFrames = -1;
let lastCopied = -1;
let quietTicks = 0;
let timer;
const tick = () => {
  const result = checkpoint.get();
  const grew = result.log !== lastFrames || result.busy !== 0;
  if (result.log !== lastFrames || result.checkpointed !== lastCopied) {
    parentPort.postMessage({ frames: result.log, copied: result.checkpointed });
  }
  lastFrames = result.log;
  lastCopied = result.checkpointed;
  quietTicks = grew ? 0 : quietTicks + 1;
  timer = setTimeout(tick, quietTicks < workerData.quietTicks ? workerData.busyMs : workerData.idleMs);
};
parentPort.on('message', () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
tick();
`;

/** What the checkpointer tells its store. */
export interface CheckpointerHooks {
  /** The worker started: the store raises its own automatic checkpoint to the fallback. */
  readonly started: () => void;
  /** The worker stopped (closed, or failed): the store restores its own automatic checkpoint. */
  readonly stopped: (error?: Error) => void;
}

/** What the worker's latest checkpoint found: frames in the WAL, and how many of them are in the database file. */
export interface CheckpointProgress {
  readonly frames: number;
  readonly copied: number;
  /** Checkpoints that changed anything so far, this one included. */
  readonly count: number;
}

/** Background checkpoints for one database file; see the file header. */
export class WalCheckpointer {
  /** The latest checkpoint that changed anything (diagnostics and tests); undefined before the first. */
  lastCheckpoint: CheckpointProgress | undefined;
  #worker: Worker | undefined;
  #writes = 0;
  #markMs = Date.now();
  #closed = false;
  /** A worker failed: the store keeps SQLite's own checkpoints from then on rather than start one again and again. */
  #failed = false;

  constructor(
    private readonly path: string,
    /** `PRAGMA wal_checkpoint(PASSIVE)`, from the driver's statements (queries.ts). */
    private readonly checkpointSql: string,
    private readonly hooks: CheckpointerHooks,
  ) {}

  /** Whether the worker runs now. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Counts one write transaction of the store; starts the worker once writes are steady. */
  noteWrite(): void {
    if (++this.#writes % STEADY_WRITES !== 0 || this.#worker !== undefined || this.#closed || this.#failed) return;
    const now = Date.now();
    if (now - this.#markMs <= STEADY_WINDOW_MS) this.start();
    this.#markMs = now;
  }

  /** Starts the worker now (the store calls `noteWrite`; tests call this). */
  start(): void {
    if (this.#worker !== undefined || this.#closed) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: this.path,
        checkpointSql: this.checkpointSql,
        busyMs: BUSY_INTERVAL_MS,
        idleMs: IDLE_INTERVAL_MS,
        quietTicks: QUIET_TICKS,
      },
      // It holds one connection and a timer: a small heap is plenty.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    // Never what keeps a process alive: the store's own connection is.
    worker.unref();
    this.#worker = worker;
    let failure: Error | undefined;
    worker.on('message', (progress: { frames: number; copied: number }) => {
      this.lastCheckpoint = { ...progress, count: (this.lastCheckpoint?.count ?? 0) + 1 };
    });
    worker.on('error', (err) => {
      failure = err;
    });
    worker.once('exit', (code) => {
      if (this.#worker === worker) this.#worker = undefined;
      if (failure !== undefined || (code !== 0 && !this.#closed)) this.#failed = true;
      this.hooks.stopped(failure);
    });
    this.hooks.started();
  }

  /** Stops the worker, letting it close its connection; resolves once it has exited. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Awaited now: an unreferenced worker alone would let the process exit before it has.
    worker.ref();
    worker.postMessage('stop');
    // A worker stuck in a checkpoint is stopped anyway, after a moment.
    const force = setTimeout(() => void worker.terminate(), 2_000);
    await exited;
    clearTimeout(force);
  }
}
