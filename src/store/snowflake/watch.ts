/**
 * `watchWork` for Snowflake: polls a change marker (the newest event id, a metadata-only MAX) and
 * calls subscribers when it moves, backing off while nothing changes so an idle pod costs few
 * statements: every `intervalMs` at first, doubling to `maxIntervalMs`, back to `intervalMs` on a
 * change, and skipping the statement while this store's own claims are looking for work (a busy
 * pod). Writes made by this process wake subscribers at once, without a statement. Every
 * transition that makes a step claimable writes an event, except a delay or a backoff running out:
 * for those the store reports when the next pending step falls due (`wakeIn`) and the watcher wakes
 * subscribers then. So subscribers are told they are `listening` (no claim polls needed) while the
 * polls succeed, and not while they fail. Owns the timers and the marker; must not claim or decide
 * anything.
 */
export interface WatchOptions {
  /** First poll interval after a change (ms). */
  readonly intervalMs: number;
  /** Poll interval cap while nothing changes (ms). */
  readonly maxIntervalMs: number;
}

interface Subscriber {
  readonly onWork: () => void;
  readonly onListening: ((listening: boolean) => void) | undefined;
}

/** The longest a due-time wake is set ahead (a timer cannot hold more than ~24.8 days anyway). */
const MAX_WAKE_MS = 3_600_000;

export class ChangeWatcher {
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private marker: number | undefined;
  private listening = false;
  private closed = false;
  /** A claim ran since the last poll: it looked for work itself, so the poll is not needed. */
  private claimedSincePoll = false;

  constructor(
    private readonly readMarker: () => Promise<number>,
    private readonly options: WatchOptions,
    private readonly report: (err: unknown) => void,
  ) {
    this.delay = options.intervalMs;
  }

  subscribe(onWork: () => void, onListening?: (listening: boolean) => void): () => void {
    if (this.closed) return () => undefined;
    const subscriber = { onWork, onListening };
    this.subscribers.add(subscriber);
    if (this.subscribers.size === 1) this.schedule(0);
    else if (this.listening) onListening?.(true);
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /**
   * This store just claimed: a busy pod keeps looking for work by claiming as its slots free, so
   * polls pause (at the first interval) until a poll interval passes without a claim.
   */
  noteClaim(): void {
    this.claimedSincePoll = true;
  }

  /** A write of this process may have made work claimable: wake now and poll fast again. */
  poke(): void {
    this.delay = this.options.intervalMs;
    this.wake();
    if (this.timer !== undefined) this.schedule(this.delay);
  }

  /**
   * The earliest pending step falls due in `ms` (null: none is pending): wake subscribers then. A
   * step that is due already but was not claimable (its events are still owed) needs no timer: the
   * statement that copies them moves the marker.
   */
  wakeIn(ms: number | null): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.closed || this.subscribers.size === 0 || ms === null || !(ms > 0)) return;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wake();
      },
      Math.min(Math.ceil(ms), MAX_WAKE_MS),
    );
    this.wakeTimer.unref();
  }

  close(): void {
    this.closed = true;
    this.subscribers.clear();
    this.stop();
  }

  private wake(): void {
    for (const s of [...this.subscribers]) s.onWork();
  }

  private setListening(listening: boolean): void {
    if (listening === this.listening) return;
    this.listening = listening;
    for (const s of [...this.subscribers]) s.onListening?.(listening);
  }

  private stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.timer = undefined;
    this.wakeTimer = undefined;
    this.marker = undefined;
    this.listening = false;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.claimedSincePoll) {
      this.claimedSincePoll = false;
      this.delay = this.options.intervalMs;
      this.schedule(this.delay);
      return;
    }
    let changed = false;
    let ok = false;
    try {
      const marker = await this.readMarker();
      changed = this.marker !== undefined && marker !== this.marker;
      this.marker = marker;
      ok = true;
    } catch (err) {
      this.report(err);
    }
    if (this.closed || this.subscribers.size === 0) return;
    // While polls fail, changes may go unseen: subscribers fall back to their own claim polls.
    this.setListening(ok);
    if (changed) {
      this.delay = this.options.intervalMs;
      this.wake();
    } else {
      this.delay = Math.min(this.delay * 2, this.options.maxIntervalMs);
    }
    this.schedule(this.delay);
  }
}
