/**
 * Workflow statements of the PostgreSQL driver that are not folded into the step statements: the
 * edges and gates a submission with parents writes (inside the submit's transaction), and the reads
 * behind `ctx.parents` and `workflowGraph`. The cascade and the gate-opening live in the fail,
 * sweep, replay and complete statements (fragments.ts). Owns SQL text and its row decoding only.
 */
import type { PgNames } from './names.js';
import { stepColumns } from './fragments.js';

/**
 * One transaction's second statement when a batch has parents: `$1` child ids, `$2` parent ids
 * (parallel arrays, one edge each). Inserts the edges, then answers each parent's status with a
 * share lock, so a parent's concurrent write (a completion, a dead-lettering) commits before this
 * answer is read or waits until this submit commits.
 */
export function edgesInsertSql(n: PgNames): string {
  return `WITH edges AS (
    INSERT INTO ${n.stepDependencies} (step_id, parent_step_id)
    SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING
  )
  SELECT 1`;
}

/** Parents' statuses, share-locked (`$1` ids): read after the edges were written (see `edgesInsertSql`). */
export function parentStatusSql(n: PgNames): string {
  return `SELECT step_id, status FROM ${n.stepTracker} WHERE step_id = ANY ($1::text[]) FOR SHARE`;
}

/** Sets the declared parents and gate of new steps: `$1` ids, `$2` depends_on JSON texts, `$3` gates. */
export function gateSetSql(n: PgNames): string {
  return `UPDATE ${n.stepTracker} s SET depends_on = i.deps::jsonb, waiting_on = i.gate
  FROM unnest($1::text[], $2::text[], $3::int4[]) AS i(step_id, deps, gate)
  WHERE s.step_id = i.step_id`;
}

/** `$1` step: its parents' results. */
export function parentResultsSql(n: PgNames): string {
  return `SELECT p.step_id, p.result FROM ${n.stepDependencies} d JOIN ${n.stepTracker} p ON p.step_id = d.parent_step_id WHERE d.step_id = $1::text`;
}

/** `$1` ids: edges with either end among them. */
export function edgesTouchingSql(n: PgNames): string {
  return `SELECT step_id, parent_step_id FROM ${n.stepDependencies} WHERE step_id = ANY ($1::text[])
  UNION SELECT step_id, parent_step_id FROM ${n.stepDependencies} WHERE parent_step_id = ANY ($1::text[])`;
}

/** `$1` ids: their rows. */
export function stepGetManySql(n: PgNames): string {
  return `SELECT ${stepColumns('s')} FROM ${n.stepTracker} s WHERE s.step_id = ANY ($1::text[])`;
}
