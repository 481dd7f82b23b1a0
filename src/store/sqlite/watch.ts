/**
 * `watchWork` for SQLite, which has no push notifications. The watcher reads `PRAGMA data_version` on
 * its own connection (a counter that moves when any other connection commits, this process's write
 * connection included) and, only when it moved or the earliest future `run_after` it knows of has
 * passed, runs one indexed probe ("is a pending step claimable now?"). When it reads:
 * - **Listening** (the file is quiet): on a write to the database's files, heard from the operating
 *   system (file-changes.ts); on a timer at that earliest `run_after`; and on a fallback poll every
 *   `FILE_WATCH_FALLBACK_MS` in case an event is lost. An idle pod costs almost nothing.
 * - **Polling** (the file is busy): every `WATCH_INTERVAL_MS`. A heard write switches to it and stops
 *   the file events, because a busy file makes several events per commit, each a callback costing
 *   more than a read of the marker; after `QUIET_READS` reads with no change it listens again.
 * - It polls for good when there are no file events to hear (an in-memory database, a watch the
 *   system refuses, an error that ended the watch) or when the fallback poll finds a change that no
 *   event announced (a file system that does not report writes).
 * Owns the timers, the file watch and the listener set; never writes.
 */
import type Database from 'better-sqlite3';
import type { FileChanges } from './file-changes.js';

/**
 * The poll interval while polling. At 100 ms (DESIGN's first figure) pickup p50 was 45 ms; the
 * target is ≤ 5 ms: polling every 4 ms gives the half-interval plus one claim, but costs an idle pod
 * 1-4 % of a core on this machine kind, which is why an idle watcher listens instead.
 */
export const WATCH_INTERVAL_MS = 4;

/** The fallback poll while listening: DESIGN's ~100 ms change check. */
export const FILE_WATCH_FALLBACK_MS = 100;

/** Reads in a row with no change (about 12 ms) after which a polling watcher listens again. */
export const QUIET_READS = 3;

/** The longest delay a Node.js timer accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Probe {
  readonly claimable: number;
  readonly next_run_after: number | null;
}

/** The two statements the watcher runs, prepared on its dedicated connection. */
export interface WatchStatements {
  readonly dataVersion: Database.Statement;
  readonly probe: Database.Statement;
}

export interface WatchOptions {
  /** Where file events come from; without it (an in-memory database) the watcher polls. */
  readonly fileChanges?: FileChanges;
  /** The fallback poll's interval while listening (tests lengthen it). */
  readonly fallbackMs?: number;
}

/** Shared by all `watchWork` subscribers of one store; its timers and file watch run only while someone listens. */
export class WorkWatcher {
  private readonly listeners = new Set<() => void>();
  private readonly fileChanges: FileChanges | undefined;
  private readonly fallbackMs: number;
  /** Whether file events may still be used: false once they could not be had or missed a change. */
  private eventsUsable: boolean;
  /** The fallback poll while listening, the short poll while polling; undefined while stopped. */
  private pollTimer: NodeJS.Timeout | undefined;
  private stopFileChanges: (() => void) | undefined;
  private readNow: NodeJS.Immediate | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private lastVersion: number | undefined;
  /** Reads in a row that found nothing, while polling. */
  private quietReads = 0;
  /** A file event arrived since the last read of the marker. */
  private heard = false;
  /** The earliest future `run_after` seen by the last probe: work becomes claimable then, with no commit. */
  private nextDue: number | null = null;

  constructor(
    private readonly statements: () => WatchStatements,
    options: WatchOptions = {},
  ) {
    this.fileChanges = options.fileChanges;
    this.fallbackMs = options.fallbackMs ?? FILE_WATCH_FALLBACK_MS;
    this.eventsUsable = this.fileChanges !== undefined;
  }

  /** Whether the watcher is listening for file events now, rather than polling (for tests and the benchmark). */
  get listening(): boolean {
    return this.stopFileChanges !== undefined;
  }

  /** Adds a listener; the returned function removes it (idempotent). */
  subscribe(onWork: () => void): () => void {
    const listener = () => onWork();
    this.listeners.add(listener);
    if (this.pollTimer === undefined) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** A write of this store made work claimable: tell listeners now rather than at the next read. */
  notify(): void {
    if (this.listeners.size === 0) return;
    queueMicrotask(() => this.fire());
  }

  /** Stops reading and forgets every listener. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /**
   * One read of the change marker, and the probe when it moved or work fell due; true when it did
   * either. Exposed so tests can drive the watcher without waiting for a timer.
   */
  poll(now: number = Date.now()): boolean {
    this.heard = false;
    let statements: WatchStatements;
    let version: number;
    try {
      statements = this.statements();
      version = statements.dataVersion.pluck().get() as number;
    } catch {
      return false; // Closed or locked for a moment: the next read tries again.
    }
    const changed = version !== this.lastVersion;
    this.lastVersion = version;
    const due = this.nextDue !== null && now >= this.nextDue;
    if (!changed && !due) return false;
    let probe: Probe;
    try {
      probe = statements.probe.get({ now }) as Probe;
      this.nextDue = probe.next_run_after;
    } catch {
      this.nextDue = now; // Could not look (e.g. not migrated yet): look again soon.
      this.armDue();
      return true;
    }
    this.armDue();
    if (probe.claimable === 1) this.fire();
    return true;
  }

  private start(): void {
    // Baseline without firing: only changes after subscribing (or work falling due) count.
    try {
      const statements = this.statements();
      this.lastVersion = statements.dataVersion.pluck().get() as number;
      const probe = statements.probe.get({ now: Date.now() }) as Probe;
      this.nextDue = probe.next_run_after;
    } catch {
      this.lastVersion = undefined;
      this.nextDue = null;
    }
    if (!this.listen()) this.pollOften();
  }

  private stop(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.stopListening();
    if (this.readNow !== undefined) clearImmediate(this.readNow);
    this.readNow = undefined;
  }

  /** Starts listening for file events; false when they cannot be had (the caller polls). */
  private listen(): boolean {
    if (!this.eventsUsable) return false;
    try {
      this.stopFileChanges = this.fileChanges?.(
        () => this.changeHeard(),
        () => this.eventsLost(),
      );
    } catch {
      this.stopFileChanges = undefined;
    }
    if (!this.listening) {
      this.eventsUsable = false; // The system refused the watch (a watch limit, say).
      return false;
    }
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => this.fallbackPoll(), this.fallbackMs).unref();
    this.armDue();
    return true;
  }

  /** Stops the file events and the due timer that goes with them. */
  private stopListening(): void {
    this.stopFileChanges?.();
    this.stopFileChanges = undefined;
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
  }

  /** Reads every `WATCH_INTERVAL_MS`, and listens again after `QUIET_READS` quiet reads when events may be used. */
  private pollOften(): void {
    this.stopListening();
    this.quietReads = 0;
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => {
      if (this.poll()) this.quietReads = 0;
      else if (++this.quietReads >= QUIET_READS && this.listen()) {
        // A commit between the last read and the watch's start made no event: read once more.
        this.poll();
      }
    }, WATCH_INTERVAL_MS).unref();
  }

  /** A write to the files while listening: read now, and poll while the file is busy. */
  private changeHeard(): void {
    if (!this.listening) return; // An event already queued when the watch stopped.
    this.heard = true;
    this.pollOften();
    this.readNow ??= setImmediate(() => {
      this.readNow = undefined;
      this.poll();
    }).unref();
  }

  /** The watch ended with an error: poll for good. */
  private eventsLost(): void {
    this.eventsUsable = false;
    if (this.listening) this.pollOften();
  }

  /**
   * The fallback poll while listening. A change that no event announced means the events miss writes
   * (a file system that does not report them): poll for good. That check waits for the end of the
   * turn, so an event already queued for this turn counts.
   */
  private fallbackPoll(): void {
    const before = this.lastVersion;
    const announced = this.heard;
    this.poll();
    if (this.lastVersion === before || announced) return;
    setImmediate(() => {
      if (this.listening && !this.heard) this.eventsLost();
    }).unref();
  }

  /** While listening, a timer reads the marker when the earliest delayed step falls due (the short poll sees it anyway). */
  private armDue(): void {
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    if (!this.listening || this.nextDue === null) return;
    const wait = this.nextDue - Date.now();
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = undefined;
        // A timer may fire a little early by Date.now(): nothing was due yet, so wait again.
        if (!this.poll()) this.armDue();
      },
      wait > 0 ? Math.min(wait, MAX_TIMER_MS) : WATCH_INTERVAL_MS,
    ).unref();
  }

  private fire(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the others still hear of the work.
      }
    }
  }
}
