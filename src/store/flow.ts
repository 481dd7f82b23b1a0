/**
 * Fleet-wide flow control shared by every driver: which of a claim's types are limited, and how many
 * more steps of one may start now given its usage. Owns the arithmetic only: each driver counts the
 * usage and claims inside its own serialized transaction (no SQL here).
 *
 * A rate-limited type counts its starts from `step_tracker.claimed_ts` (the time of a step's latest
 * claim). A step therefore holds at most one start per window: the limited claim takes a step again
 * only once its previous start has left the window (`claimed_ts <= now − intervalMs`), so the count of
 * rows started inside the window is exactly the number of starts in it, with no table of start times.
 */
import type { StepClaimParams, TypeFlowLimit } from './store.js';

/** What a limited type uses now: steps `claimed`, and claims started in the last `rateLimit.intervalMs`. */
export interface FlowUsage {
  readonly claimed: number;
  readonly started: number;
}

/** The limits of the claim's types that limit anything, one per type, in `types` order. */
export function limitedTypes(params: StepClaimParams): TypeFlowLimit[] {
  const byType = new Map((params.limits ?? []).map((l) => [l.type, l]));
  const out: TypeFlowLimit[] = [];
  for (const type of new Set(params.types)) {
    const l = byType.get(type);
    if (l !== undefined && (l.concurrency !== undefined || l.rateLimit !== undefined)) out.push(l);
  }
  return out;
}

/** How many more steps of the type may be claimed now (never negative; `Infinity` when unlimited). */
export function allowance(limit: TypeFlowLimit, usage: FlowUsage): number {
  let n = Number.POSITIVE_INFINITY;
  if (limit.concurrency !== undefined) n = Math.min(n, Math.floor(limit.concurrency) - usage.claimed);
  if (limit.rateLimit !== undefined) n = Math.min(n, Math.floor(limit.rateLimit.max) - usage.started);
  return Math.max(0, n);
}

/** The earliest `claimed_ts` a rate-limited step may hold and still count in the window at `now`; null when no rate limit. */
export function windowStart(limit: TypeFlowLimit, now: number): number | null {
  return limit.rateLimit === undefined ? null : now - limit.rateLimit.intervalMs;
}

/** `priority DESC, deadline (nulls last), created_ts, step_id`: the claim order of DESIGN §3 with deadlines. */
export function compareClaimOrder(
  a: { priority: number; deadline: number | null; createdTs: number; stepId: string },
  b: { priority: number; deadline: number | null; createdTs: number; stepId: string },
): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.deadline !== b.deadline) {
    if (a.deadline === null) return 1;
    if (b.deadline === null) return -1;
    return a.deadline - b.deadline;
  }
  if (a.createdTs !== b.createdTs) return a.createdTs - b.createdTs;
  return a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0;
}
