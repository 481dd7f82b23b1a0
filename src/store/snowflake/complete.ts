/**
 * Fenced completions on Snowflake, many at once: one UPDATE per round of distinct steps stamps the
 * rows it completed with the round's token, one read tells applied from stale (the rows carrying
 * the token); the `completed` events become owed (completed rows are final, so the store copies
 * them with its next copy, driver.ts) and each stale item gets its own `stale_write_rejected`,
 * after whatever the store owes. A claim whose own copy failed is copied before the UPDATE would
 * overwrite its outboxes. A step named twice goes into a later round, so it is judged after the
 * first write. Owns that flow; the SQL is in queries.ts.
 */
import { randomUUID } from 'node:crypto';
import { serialiseResult } from '../json.js';
import type { FencedWriteResult, StepCompleteParams, StepRow } from '../store.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import type { SfNames } from './names.js';
import * as q from './queries.js';
import { toStepRow } from './rows.js';

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** The store's debt of audit events (driver.ts); a copy that fails throws. */
export interface OwedEvents {
  /** Copies what is owed if any of it sits in outboxes that may be overwritten. */
  readonly flushRewritable: () => Promise<void>;
  /** Copies everything owed. */
  readonly flushAll: () => Promise<void>;
  /** Rows of `token` owe events and will not be written again. */
  readonly oweFinal: (token: string) => void;
}

/** Rows per UPDATE at most. */
const BATCH = 500;

/** The `stale_write_rejected` event of a fenced write that matched nothing, with the row's current values. */
export function staleEvent(ref: { stepId: string; podId: string; attempt: number; now?: number }, write: string, row: StepRow | null): q.EventItem {
  const detail = { write, status: row?.status ?? null, claimed_by: row?.claimedBy ?? null, attempt: row?.attempt ?? null };
  return { stepId: ref.stepId, now: ref.now ?? null, kind: 'stale_write_rejected', podId: ref.podId, attempt: ref.attempt, detail: JSON.stringify(detail) };
}

/** Completes `items` (results serialised first: a bad one refuses the call, writing nothing). */
export async function completeMany(run: Run, n: SfNames, items: readonly StepCompleteParams[], owed: OwedEvents): Promise<FencedWriteResult<'completed'>[]> {
  const results: FencedWriteResult<'completed'>[] = new Array(items.length);
  const serialised = items.map((i) => serialiseResult(i.result));
  let pending = items.map((_, i) => i);
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round: number[] = [];
    const later: number[] = [];
    for (const i of pending) {
      const id = items[i]!.stepId;
      if (seen.has(id) || round.length >= BATCH) {
        later.push(i);
      } else {
        seen.add(id);
        round.push(i);
      }
    }
    await owed.flushRewritable();
    await completeRound(run, n, items, serialised, round, results, owed);
    pending = later;
  }
  return results;
}

async function completeRound(
  run: Run,
  n: SfNames,
  items: readonly StepCompleteParams[],
  serialised: readonly string[],
  round: readonly number[],
  results: FencedWriteResult<'completed'>[],
  owed: OwedEvents,
): Promise<void> {
  const token = randomUUID();
  const batch = round.map((i) => ({
    stepId: items[i]!.stepId,
    podId: items[i]!.podId,
    attempt: items[i]!.attempt,
    result: serialised[i]!,
    now: items[i]!.now ?? null,
  }));
  // A second run after a lost answer matches nothing new: the fence needs status 'claimed'.
  await run(q.completeSql(n, batch, token), { idempotent: true });
  const { rows } = await run(q.stepsByIdSql(n, [...new Set(batch.map((b) => b.stepId))]), { idempotent: true });
  const byId = new Map(rows.map((r) => [String(r['STEP_ID']), r]));
  const stale: q.EventItem[] = [];
  let applied = 0;
  round.forEach((i, j) => {
    const raw = byId.get(batch[j]!.stepId);
    if (raw !== undefined && raw['WRITE_TOKEN'] === token) {
      results[i] = { applied: true, outcome: 'completed', step: toStepRow(raw) };
      applied++;
      return;
    }
    results[i] = { applied: false, outcome: 'stale' };
    stale.push(staleEvent(items[i]!, 'complete', raw === undefined ? null : toStepRow(raw)));
  });
  if (applied > 0) owed.oweFinal(token);
  if (stale.length > 0) {
    await owed.flushAll();
    await run(q.eventsInsertSql(n, stale));
  }
}
