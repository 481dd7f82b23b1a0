/**
 * Workflow writes and reads on MySQL: a submission's edges and gate, gates opened by completions,
 * the dead-letter cascade to descendants and its undoing by a replay, and the reads behind
 * `ctx.parents` and `workflowGraph`. Writes run inside the driver's transaction, beside the change
 * that causes them; rows are locked (`FOR UPDATE`, primary-key order) before they are written.
 * Must not open transactions.
 */
import type { Json, StepRow, WorkflowEdge } from '../store.js';
import { parentFailedError } from '../workflow.js';
import { run, runRead, write, type Connection, type Queryable } from './connection.js';
import { insertEvents, type MysqlContext, type NewEvent } from './context.js';
import { parseJson, toStepRow, type StepRecord } from './rows.js';

/**
 * Statuses of `parents`, share-locked: a parent's completion or dead-lettering (which locks the
 * parent row first) then waits for this submit to commit and sees its edges. `fresh` are ids this
 * transaction inserts (pending by definition).
 */
export async function parentStatuses(
  connection: Connection,
  ctx: MysqlContext,
  parents: readonly string[],
  fresh: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const stored = parents.filter((id) => !fresh.has(id));
  const statuses = new Map<string, string>([...fresh].map((id) => [id, 'pending']));
  if (stored.length === 0) return statuses;
  for (const r of await run<{ step_id: string; status: string }>(connection, ctx.sql.parentStatuses, [stored])) statuses.set(r.step_id, r.status);
  return statuses;
}

/** Inserts the edges of new steps: one row per (child, parent). */
export async function insertEdges(connection: Connection, ctx: MysqlContext, edges: readonly (readonly [string, string])[]): Promise<void> {
  if (edges.length > 0) await write(connection, ctx.sql.edgeInsert, [edges.map((e) => [...e])]);
}

/** Parents completed in this transaction: their children each wait for as many parents fewer. */
export async function openGates(connection: Connection, ctx: MysqlContext, parentIds: readonly string[]): Promise<void> {
  if (parentIds.length > 0) await write(connection, ctx.sql.gateOpen, [[...parentIds]]);
}

async function descendantsOf(connection: Connection, ctx: MysqlContext, rootId: string): Promise<string[]> {
  return (await run<{ step_id: string }>(connection, ctx.sql.descendants, [[rootId]])).map((r) => r.step_id);
}

/**
 * What both cascades do: lock the descendants of `rootId` that `lockSql` selects (the state the
 * cascade moves them out of), move them with the statement `update` gives for their ids, and record
 * one event each.
 */
async function cascade(
  connection: Connection,
  ctx: MysqlContext,
  rootId: string,
  lockSql: string,
  update: (ids: string[]) => readonly [string, unknown[]],
  event: (row: StepRecord) => NewEvent,
): Promise<void> {
  const ids = await descendantsOf(connection, ctx, rootId);
  if (ids.length === 0) return;
  const locked = await run<StepRecord>(connection, lockSql, [ids]);
  if (locked.length === 0) return;
  const [sql, params] = update(locked.map((r) => r.step_id));
  await write(connection, sql, params);
  await insertEvents(connection, ctx, locked.map(event));
}

/** Fails every pending descendant of the dead-lettered `rootId`, one `dead_lettered` event each. */
export async function cascadeFailure(connection: Connection, ctx: MysqlContext, rootId: string, podId: string | null, now: number): Promise<void> {
  const error = parentFailedError(rootId);
  await cascade(
    connection,
    ctx,
    rootId,
    ctx.sql.lockPending,
    (ids) => [ctx.sql.cascadeFail, [error, now, ids]],
    (r) => ({
      stepId: r.step_id,
      ts: now,
      kind: 'dead_lettered',
      podId,
      attempt: r.attempt,
      detail: { reason: 'parent_failed', parent_step_id: rootId, error, retry_count: r.retry_count },
    }),
  );
}

/** Revives the descendants the dead-lettering of the replayed `rootId` failed, one `replayed` event each. */
export async function cascadeRevival(connection: Connection, ctx: MysqlContext, rootId: string, now: number): Promise<void> {
  await cascade(
    connection,
    ctx,
    rootId,
    ctx.sql.lockCascaded,
    (ids) => [ctx.sql.cascadeRevive, [now, now, ids]],
    (r) => ({
      stepId: r.step_id,
      ts: now,
      kind: 'replayed',
      podId: null,
      attempt: r.attempt,
      detail: { reason: 'parent_replayed', parent_step_id: rootId, old_retry_count: r.retry_count },
    }),
  );
}

export async function readParentResults(pool: Queryable, ctx: MysqlContext, stepId: string): Promise<{ [parentStepId: string]: Json | null }> {
  const rows = await runRead<{ step_id: string; result: string | null }>(pool, ctx.sql.parentResults, [stepId]);
  return Object.fromEntries(rows.map((r) => [r.step_id, parseJson(r.result) ?? null]));
}

export async function readEdgesTouching(pool: Queryable, ctx: MysqlContext, ids: readonly string[]): Promise<WorkflowEdge[]> {
  const rows = await runRead<{ step_id: string; parent_step_id: string }>(pool, ctx.sql.edgesTouching, [[...ids], [...ids]]);
  return rows.map((r) => ({ stepId: r.step_id, parentStepId: r.parent_step_id }));
}

export async function readSteps(pool: Queryable, ctx: MysqlContext, ids: readonly string[]): Promise<StepRow[]> {
  return (await runRead<StepRecord>(pool, ctx.sql.stepGetMany, [[...ids]])).map(toStepRow);
}
