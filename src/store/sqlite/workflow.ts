/**
 * Workflow writes and reads on SQLite: a submission's edges and gate, gates opened by a completion,
 * the dead-letter cascade to descendants and its undoing by a replay, and the reads behind
 * `ctx.parents` and `workflowGraph`. Every write runs inside the caller's `BEGIN IMMEDIATE`
 * transaction, beside the change that causes it; must not open transactions.
 */
import type { Json, StepRow, WorkflowEdge } from '../store.js';
import { gateOf, parentFailedError } from '../workflow.js';
import { insertEvent, type SqliteContext } from './context.js';
import { toStepRow, type StepRecord } from './rows.js';

/** The gate of a new step: checks its parents exist and are not dead-lettered (see `gateOf`). */
export function gateForParents(ctx: SqliteContext, parents: readonly string[], index: number | null): number {
  if (parents.length === 0) return 0;
  const rows = ctx.statement('parentStatuses').all({ ids: JSON.stringify(parents) }) as { step_id: string; status: string }[];
  return gateOf(parents, new Map(rows.map((r) => [r.step_id, r.status])), index);
}

/** Records the edges of a new step. */
export function insertEdges(ctx: SqliteContext, stepId: string, parents: readonly string[]): void {
  for (const parentStepId of parents) ctx.statement('dependencyInsert').run({ stepId, parentStepId });
}

/** A parent completed: its children each wait for one parent fewer. */
export function openGates(ctx: SqliteContext, parentStepId: string): void {
  ctx.statement('gateOpen').run({ stepId: parentStepId });
}

/** `openGates` for the parents of one batch of completions, in one statement. */
export function openGatesOfMany(ctx: SqliteContext, parentStepIds: readonly string[]): void {
  if (parentStepIds.length > 0) ctx.statement('gateOpenMany').run({ ids: JSON.stringify(parentStepIds) });
}

/** Fails every pending descendant of the dead-lettered `parentStepId`, one `dead_lettered` event each. */
export function cascadeFailure(ctx: SqliteContext, parentStepId: string, podId: string | null, now: number): string[] {
  const error = parentFailedError(parentStepId);
  const rows = ctx.statement('cascadeFail').all({ ids: JSON.stringify([parentStepId]), error, now }) as StepRecord[];
  rows.sort((a, b) => (a.step_id < b.step_id ? -1 : 1));
  for (const r of rows) {
    const detail = { reason: 'parent_failed', parent_step_id: parentStepId, error, retry_count: r.retry_count };
    insertEvent(ctx, { stepId: r.step_id, ts: now, kind: 'dead_lettered', podId, attempt: r.attempt, detail });
  }
  return rows.map((r) => r.step_id);
}

/** Revives the descendants the dead-lettering of the replayed `parentStepId` failed, one `replayed` event each. */
export function cascadeRevival(ctx: SqliteContext, parentStepId: string, now: number): string[] {
  const picked = ctx.statement('cascadeRevivePick').all({ ids: JSON.stringify([parentStepId]) }) as { step_id: string; retry_count: number }[];
  if (picked.length === 0) return [];
  const old = new Map(picked.map((p) => [p.step_id, p.retry_count]));
  const rows = ctx.statement('cascadeRevive').all({ ids: JSON.stringify([...old.keys()]), now }) as StepRecord[];
  rows.sort((a, b) => (a.step_id < b.step_id ? -1 : 1));
  for (const r of rows) {
    const detail = { reason: 'parent_replayed', parent_step_id: parentStepId, old_retry_count: old.get(r.step_id) ?? 0 };
    insertEvent(ctx, { stepId: r.step_id, ts: now, kind: 'replayed', podId: null, attempt: r.attempt, detail });
  }
  return rows.map((r) => r.step_id);
}

/** Parent results of one step, keyed by parent id. */
export function readParentResults(ctx: SqliteContext, stepId: string): { [parentStepId: string]: Json | null } {
  const rows = ctx.statement('parentResults').all({ stepId }) as { step_id: string; result: string | null }[];
  return Object.fromEntries(rows.map((r) => [r.step_id, r.result === null ? null : (JSON.parse(r.result) as Json)]));
}

export function readEdgesTouching(ctx: SqliteContext, ids: readonly string[]): WorkflowEdge[] {
  const rows = ctx.statement('edgesTouching').all({ ids: JSON.stringify(ids) }) as { step_id: string; parent_step_id: string }[];
  return rows.map((r) => ({ stepId: r.step_id, parentStepId: r.parent_step_id }));
}

export function readSteps(ctx: SqliteContext, ids: readonly string[]): StepRow[] {
  return (ctx.statement('stepGetMany').all({ ids: JSON.stringify(ids) }) as StepRecord[]).map(toStepRow);
}
