/**
 * The runtime's batching of completions: every step of this pod that finishes within one event-loop
 * turn (the handlers of one claim settling together), or while the previous batch is being written,
 * is completed by one `Store.stepCompleteMany` call. The pod decides what to batch; the store only
 * writes a batch well (one transaction or statement). On Snowflake this is what keeps completions
 * near one statement per batch instead of three per step. Owns the batching only (coalesce.ts does
 * the queueing); must not decide outcomes.
 *
 * A batch that fails as a whole (a transient error, or one result the store refuses) is written
 * again item by item, so each caller gets its own outcome or error.
 */
import { WriteCoalescer } from '../store/coalesce.js';
import type { FencedWriteOutcome, StepCompleteParams, Store } from '../store/store.js';

/** Completions of one pod, batched per event-loop turn. */
export interface CompletionBatcher {
  complete(params: StepCompleteParams): Promise<FencedWriteOutcome<'completed'>>;
}

/** Steps per `stepCompleteMany` call at most. */
const MAX_BATCH = 500;

export function completionBatcher(store: Store): CompletionBatcher {
  const coalescer = new WriteCoalescer<StepCompleteParams, FencedWriteOutcome<'completed'>>({
    writeBatch: (items) => store.stepCompleteMany({ items }),
    writeOne: (item) => store.stepComplete(item),
    key: (item) => item.stepId,
    maxBatch: MAX_BATCH,
  });
  return { complete: (params) => coalescer.submit(params) };
}
