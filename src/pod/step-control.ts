/**
 * How a running pod hears that one of its steps was cancelled, through the database only: every
 * `checkIntervalMs` (the claim interval) while it runs steps, one `stepCancelledAmong` read of its
 * running step ids (primary-key probes; none while idle). A hit aborts that step's `ctx.signal` with
 * reason `cancelled`; the handler's later writes are then rejected as stale by the store's fence.
 * A stale progress write that finds the row `cancelled` aborts at once (step-progress.ts), so a
 * handler that reports progress hears sooner. Owns the timer and the watch list; no SQL, no decisions.
 *
 * Delay bound: a cancel reaches the handler within `checkIntervalMs` plus one read's latency.
 */
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

interface Watched {
  readonly podId: string;
  readonly abort: () => void;
}

/** The pod's watch over its running steps' cancellation. */
export class CancellationWatch {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly store: Pick<Store, 'stepCancelledAmong'>,
    private readonly checkIntervalMs: number,
    private readonly logger?: Logger,
  ) {}

  /** Watches `stepId` (claimed by `podId`) until the returned function is called. */
  watch(podId: string, stepId: string, abort: () => void): () => void {
    const entry = { podId, abort };
    this.watched.set(stepId, entry);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.checkNow(), this.checkIntervalMs);
      // The pod's other timers keep the process alive; this one only serves running steps.
      this.timer.unref();
    }
    return () => {
      if (this.watched.get(stepId) === entry) this.watched.delete(stepId);
      if (this.watched.size === 0) this.stop();
    };
  }

  /** One check now (the timer's tick; tests call it directly). At most one runs at a time. */
  async checkNow(): Promise<void> {
    if (this.checking || this.watched.size === 0) return;
    this.checking = true;
    try {
      const byPod = new Map<string, string[]>();
      for (const [stepId, w] of this.watched) byPod.set(w.podId, [...(byPod.get(w.podId) ?? []), stepId]);
      for (const [podId, stepIds] of byPod) {
        const cancelled = await this.store.stepCancelledAmong({ podId, stepIds });
        for (const stepId of cancelled) this.watched.get(stepId)?.abort();
      }
    } catch (err) {
      // A database outage is the heartbeat's business; the next tick asks again.
      this.logger?.debug({ err }, 'cancellation check failed');
    } finally {
      this.checking = false;
    }
  }

  /** Stops the timer (the watch list empties as step actors stop). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
