/**
 * The workflow statements of the Snowflake store: parents' statuses and edges at submit,
 * descendants for the dead-letter cascade and its revival, and the reads behind `ctx.parents` and
 * `workflowGraph`. Owns SQL text only; the flow is in workflow.ts and the driver.
 */
import type { Bind, Statement } from './connection.js';
import type { SfNames } from './names.js';
import { binder, stepColumns } from './queries.js';

const placeholders = (v: (value: Bind) => string, values: readonly Bind[]) => values.map((x) => v(x)).join(', ');

/** Statuses of the steps `ids` (visible ones). */
export function parentStatusesSql(n: SfNames, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  return { sqlText: `SELECT STEP_ID, STATUS FROM ${n.stepTracker} WHERE STATUS <> 'staged' AND STEP_ID IN (${placeholders(v, ids)})`, binds };
}

/** Inserts edges not there yet (a submit that starts over writes them again). */
export function edgesInsertSql(n: SfNames, edges: readonly (readonly [string, string])[]): Statement {
  const { v, binds } = binder();
  const rows = edges.map(([child, parent]) => `(${v(child)}, ${v(parent)})`).join(', ');
  const sqlText = `INSERT INTO ${n.stepDependencies} (STEP_ID, PARENT_STEP_ID)
    SELECT e.CHILD, e.PARENT FROM (SELECT column1 AS CHILD, column2 AS PARENT FROM VALUES ${rows}) e
    WHERE NOT EXISTS (SELECT 1 FROM ${n.stepDependencies} d WHERE d.STEP_ID = e.CHILD AND d.PARENT_STEP_ID = e.PARENT)`;
  return { sqlText, binds };
}

/**
 * Every step reachable from `roots` through child edges, with its row and the root it was reached
 * from (the smallest, when several), and the database time as NOW_MS.
 */
export function descendantsSql(n: SfNames, roots: readonly string[]): Statement {
  const { v, binds } = binder();
  const sqlText = `WITH RECURSIVE descendants (STEP_ID, ROOT) AS (
      SELECT d.STEP_ID, d.PARENT_STEP_ID FROM ${n.stepDependencies} d WHERE d.PARENT_STEP_ID IN (${placeholders(v, roots)})
      UNION ALL SELECT d.STEP_ID, r.ROOT FROM ${n.stepDependencies} d JOIN descendants r ON d.PARENT_STEP_ID = r.STEP_ID)
    SELECT ${stepColumns(n, 's')}, r.ROOT FROM ${n.stepTracker} s
    JOIN (SELECT STEP_ID, MIN(ROOT) AS ROOT FROM descendants GROUP BY STEP_ID) r ON s.STEP_ID = r.STEP_ID
    ORDER BY s.STEP_ID`;
  return { sqlText, binds };
}

/** The parents of one step with their results. */
export function parentResultsSql(n: SfNames, stepId: string): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT p.STEP_ID, p.RESULT FROM ${n.stepDependencies} d JOIN ${n.stepTracker} p ON p.STEP_ID = d.PARENT_STEP_ID
    WHERE d.STEP_ID = ${v(stepId)}`;
  return { sqlText, binds };
}

/** Edges with either end among `ids`. */
export function edgesTouchingSql(n: SfNames, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT DISTINCT STEP_ID, PARENT_STEP_ID FROM ${n.stepDependencies}
    WHERE STEP_ID IN (${placeholders(v, ids)}) OR PARENT_STEP_ID IN (${placeholders(v, ids)})`;
  return { sqlText, binds };
}

/** Rows by id, staged ones excluded. */
export function stepsVisibleSql(n: SfNames, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT ${stepColumns(n, 's')} FROM ${n.stepTracker} s WHERE s.STATUS <> 'staged' AND s.STEP_ID IN (${placeholders(v, ids)})`;
  return { sqlText, binds };
}

/** Removes the edges of steps deleted by retention. */
export function edgesPruneSql(n: SfNames, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  return { sqlText: `DELETE FROM ${n.stepDependencies} WHERE STEP_ID IN (${placeholders(v, ids)})`, binds };
}
