/**
 * A handler's `ctx.progress(value)`, rate-limited per step so it cannot flood the database: the
 * first value is written at once, later ones at most once per `minIntervalMs`, coalesced to the
 * latest (a value superseded before its turn is never written). Writes are fenced (`stepProgress`);
 * one that finds the row `cancelled` tells the runtime at once. Nothing is flushed after the attempt
 * ends: its outcome write supersedes progress. Owns the throttle only; the store owns the fence.
 */
import type { Logger } from '../log.js';
import { serialiseProgress } from '../store/json.js';
import type { ClaimRef, Json, Store } from '../store/store.js';

/** At most one progress write per step per second. */
export const PROGRESS_MIN_INTERVAL_MS = 1_000;

export class ProgressWriter {
  private latest: { value: Json } | undefined;
  private lastWriteAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'stepProgress'>,
    private readonly ref: ClaimRef,
    private readonly onCancelled: () => void,
    private readonly logger?: Logger,
    private readonly minIntervalMs = PROGRESS_MIN_INTERVAL_MS,
  ) {}

  /** Records `value` (throws `ValidationError` at once for a value the store would refuse). */
  report(value: Json): void {
    serialiseProgress(value);
    if (this.closed) return;
    this.latest = { value };
    this.schedule();
  }

  /** The attempt ended: drop what was not written yet. */
  close(): void {
    this.closed = true;
    this.latest = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.writing || this.timer !== undefined || this.latest === undefined) return;
    const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
    if (wait <= 0) {
      void this.write();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, wait);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const pending = this.latest;
    if (pending === undefined || this.closed) return;
    this.latest = undefined;
    this.writing = true;
    this.lastWriteAt = Date.now();
    try {
      const written = await this.store.stepProgress({ ...this.ref, progress: pending.value });
      if (!written.applied && written.status === 'cancelled') this.onCancelled();
    } catch (err) {
      // Progress is best effort: a failed write is not retried (a later value supersedes it).
      this.logger?.warn({ err, step_id: this.ref.stepId }, 'progress write failed');
    } finally {
      this.writing = false;
      this.schedule();
    }
  }
}
