/**
 * `watchWork` for Snowflake: polls a change marker (the newest event id, a metadata-only MAX) and
 * calls subscribers when it moves, backing off while nothing changes so an idle pod costs few
 * statements: every `intervalMs` at first, doubling to `maxIntervalMs`, back to `intervalMs` on a
 * change. Writes made by this process wake subscribers at once, without a statement. Owns the
 * timer and the marker; must not claim or decide anything.
 */
export interface WatchOptions {
  /** First poll interval after a change (ms). */
  readonly intervalMs: number;
  /** Poll interval cap while nothing changes (ms). */
  readonly maxIntervalMs: number;
}

export class ChangeWatcher {
  private readonly subscribers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private marker: number | undefined;
  private closed = false;

  constructor(
    private readonly readMarker: () => Promise<number>,
    private readonly options: WatchOptions,
    private readonly report: (err: unknown) => void,
  ) {
    this.delay = options.intervalMs;
  }

  subscribe(onWork: () => void): () => void {
    if (this.closed) return () => undefined;
    this.subscribers.add(onWork);
    if (this.subscribers.size === 1) this.schedule(0);
    return () => {
      this.subscribers.delete(onWork);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** A write of this process may have made work claimable: wake now and poll fast again. */
  poke(): void {
    this.delay = this.options.intervalMs;
    for (const s of [...this.subscribers]) s();
    if (this.timer !== undefined) this.schedule(this.delay);
  }

  close(): void {
    this.closed = true;
    this.subscribers.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.marker = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let changed = false;
    try {
      const marker = await this.readMarker();
      changed = this.marker !== undefined && marker !== this.marker;
      this.marker = marker;
    } catch (err) {
      this.report(err);
    }
    if (this.closed || this.subscribers.size === 0) return;
    if (changed) {
      this.delay = this.options.intervalMs;
      for (const s of [...this.subscribers]) s();
    } else {
      this.delay = Math.min(this.delay * 2, this.options.maxIntervalMs);
    }
    this.schedule(this.delay);
  }
}
