/**
 * `watchWork` for MySQL, which has no LISTEN/NOTIFY: idle pods poll one cheap indexed probe (the
 * newest event id, "is a pending step claimable now?", the earliest future `run_after`) with
 * back-off. After any change (the newest event id moved: every transition writes one) the next
 * probe comes MIN_INTERVAL_MS later; each probe that finds nothing new doubles the wait up to
 * MAX_INTERVAL_MS; a step falling due (backoff, delay) is probed for at its due time. A write by this
 * store instance that makes work claimable calls back at once (`notify`).
 *
 * Pickup latency for work submitted by another process: up to MAX_INTERVAL_MS (half of it on
 * average) after a quiet spell, up to MIN_INTERVAL_MS while work flows. Idle cost: one probe per
 * MAX_INTERVAL_MS (75 a minute). Owns the timer and the subscriber set; never writes.
 */
import type { Queryable } from './connection.js';

/** Measured against the conformance bound (a wake within 1 s of another process's submit). */
export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 800;

interface Probe {
  readonly now_ms: number | string;
  readonly marker: number | string | null;
  readonly claimable: number | string;
  readonly next_run_after: number | string | null;
}

/** Shared by all `watchWork` subscribers of one store; polls only while someone listens. */
export class WorkWatcher {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private interval = MIN_INTERVAL_MS;
  private marker: number | null | undefined;
  private polling = false;
  private closed = false;
  /** Set when the next probe was timed for a step falling due: that probe fires even without a change. */
  private dueSeen = false;

  constructor(
    private readonly pool: Queryable,
    private readonly probeSql: string,
  ) {}

  /** Adds a listener; the returned function removes it (idempotent). */
  subscribe(onWork: () => void): () => void {
    const listener = () => onWork();
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      this.marker = undefined;
      this.interval = MIN_INTERVAL_MS;
      this.schedule(0);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** A write of this store made work claimable: tell listeners now rather than at the next poll. */
  notify(): void {
    if (this.listeners.size === 0) return;
    this.interval = MIN_INTERVAL_MS;
    queueMicrotask(() => this.fire());
  }

  /** Stops polling and forgets every listener. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
  }

  /** One probe; exposed so tests can drive the watcher without waiting for the timer. */
  async poll(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    let probe: Probe | undefined;
    try {
      const [rows] = await this.pool.query(this.probeSql);
      probe = (rows as Probe[])[0];
    } catch {
      // Not migrated yet, or the database is away: look again after the longest wait.
    } finally {
      this.polling = false;
    }
    if (this.listeners.size === 0 || this.closed) return;
    if (probe === undefined) {
      this.schedule(MAX_INTERVAL_MS);
      return;
    }
    const marker = probe.marker === null ? null : Number(probe.marker);
    const first = this.marker === undefined;
    const changed = !first && marker !== this.marker;
    this.marker = marker;
    const claimable = Number(probe.claimable) === 1;
    this.interval = changed ? MIN_INTERVAL_MS : Math.min(MAX_INTERVAL_MS, this.interval * 2);
    // The baseline probe does not fire: only changes after subscribing (or work falling due) count.
    if (claimable && (changed || (!first && this.dueSeen))) this.fire();
    this.dueSeen = false;
    let wait = this.interval;
    if (probe.next_run_after !== null) {
      const untilDue = Number(probe.next_run_after) - Number(probe.now_ms);
      if (untilDue < wait) {
        wait = Math.max(1, untilDue + 1);
        this.dueSeen = true;
      }
    }
    this.schedule(wait);
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.listeners.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
    this.timer.unref();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
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
