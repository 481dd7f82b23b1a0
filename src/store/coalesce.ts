/**
 * Coalesced writes: calls of one Store method that arrive while the database is busy with the
 * previous ones are written together, in one transaction, so a commit (a WAL flush on PostgreSQL,
 * a WAL append of every touched page on SQLite) is paid once per batch instead of once per step.
 * Each caller still gets its own result. A lone call waits for nothing but the end of the current
 * event-loop turn. Owns batching and error isolation only: the driver supplies the batch write.
 *
 * A failed batch is never a failed call by association: when the batch write throws, each item is
 * written again on its own, so one bad item (or a transient error) fails only the calls it affects.
 * Only writes whose items are independent of each other (fenced writes of distinct claims) belong
 * here; the driver keeps two writes of one step out of the same batch via `key`.
 */

interface Pending<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** How one kind of write is made, alone and in a batch. */
export interface CoalescedWrite<I, R> {
  /** Writes every item in one transaction; results in the order of `items`. */
  readonly writeBatch: (items: readonly I[]) => Promise<readonly R[]>;
  /** Writes one item in its own transaction (used for a batch of one and after a batch failed). */
  readonly writeOne: (item: I) => Promise<R>;
  /** Items with equal keys never share a batch (e.g. two writes of one step). */
  readonly key: (item: I) => string;
  /** Batches written at once; 1 means a batch is cut each time the previous one commits. */
  readonly maxInFlight?: number;
  /** Items per batch at most. */
  readonly maxBatch?: number;
}

/** Queues writes and flushes them in batches; see the file header. */
export class WriteCoalescer<I, R> {
  private queue: Pending<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;

  constructor(private readonly write: CoalescedWrite<I, R>) {
    this.maxInFlight = write.maxInFlight ?? 1;
    this.maxBatch = write.maxBatch ?? 1000;
  }

  /** Resolves with the item's own result once the batch holding it has committed. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Flushes at the end of this event-loop turn (setImmediate), so every write requested in the same
   * turn (e.g. handlers of one claim settling together) joins one batch.
   */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    const batch = this.take();
    this.inFlight++;
    try {
      await this.run(batch);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  /** The next batch: queue order, at most `maxBatch`, no key twice (repeats wait for the next batch). */
  private take(): Pending<I, R>[] {
    const batch: Pending<I, R>[] = [];
    const rest: Pending<I, R>[] = [];
    const keys = new Set<string>();
    for (const pending of this.queue) {
      const key = this.write.key(pending.item);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async run(batch: readonly Pending<I, R>[]): Promise<void> {
    if (batch.length === 1) {
      await this.write.writeOne(batch[0]!.item).then(batch[0]!.resolve, batch[0]!.reject);
      return;
    }
    let results: readonly R[];
    try {
      results = await this.write.writeBatch(batch.map((p) => p.item));
    } catch {
      // Nothing of the batch committed; each item gets its own transaction and its own outcome.
      await Promise.all(batch.map((p) => this.write.writeOne(p.item).then(p.resolve, p.reject)));
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }
}
