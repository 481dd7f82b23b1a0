/**
 * Workflow decisions of the Snowflake store, in plain code like decide.ts: the row changes of a
 * dead-letter cascade (pending descendants → failed, naming the dead-lettered ancestor) and of its
 * revival by a replay (descendants failed behind a shut gate → pending). They are written in the
 * same UPDATE as the ancestor's own change, each guarded by `requires` on the ancestor's values as
 * read, so they apply exactly when the ancestor's change does. Also the submit's parent checks.
 * Pure except `readDescendants`, `checkParents` and `insertEdges`, which read or write through `run`.
 */
import type { StepRow } from '../store.js';
import { gateOf, parentFailedError } from '../workflow.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import type { SfNames } from './names.js';
import type { RowChange } from './queries.js';
import { descendantsSql, edgesInsertSql, parentStatusesSql } from './queries.workflow.js';
import { toStepRow } from './rows.js';

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** A descendant with the root it was reached from. */
export interface Descendant {
  readonly row: StepRow;
  readonly root: string;
}

export async function readDescendants(run: Run, n: SfNames, roots: readonly string[]): Promise<Descendant[]> {
  if (roots.length === 0) return [];
  const { rows } = await run(descendantsSql(n, roots), { idempotent: true });
  return rows.map((r) => ({ row: toStepRow(r), root: String(r['ROOT']) }));
}

function expectOf(row: StepRow) {
  return {
    stepId: row.stepId,
    expectStatus: row.status,
    expectClaimedBy: null,
    expectAttempt: row.attempt,
    expectRetryCount: row.retryCount,
    expectReleaseCount: row.releaseCount,
  };
}

/** Pending descendants of dead-lettered roots → failed; `requires` maps a root to the values its own change expects. */
export function cascadeChanges(
  found: readonly Descendant[],
  podId: string | null,
  now: number,
  requires: (root: string) => RowChange['requires'],
): RowChange[] {
  return found
    .filter((d) => d.row.status === 'pending')
    .map(({ row, root }) => {
      const error = parentFailedError(root);
      return {
        ...expectOf(row),
        status: 'failed',
        claimedBy: null,
        retryCount: row.retryCount,
        releaseCount: row.releaseCount,
        runAfter: row.runAfter,
        lastError: error,
        now,
        kind: 'dead_lettered',
        eventPod: podId,
        detail: JSON.stringify({ reason: 'parent_failed', parent_step_id: root, error, retry_count: row.retryCount }),
        requires: requires(root),
      };
    });
}

/** Descendants failed behind a shut gate (an ancestor's dead-lettering) → pending, as a replay does. */
export function revivalChanges(found: readonly Descendant[], replayed: StepRow, now: number): RowChange[] {
  return found
    .filter((d) => d.row.status === 'failed' && d.row.waitingOn > 0)
    .map(({ row }) => ({
      ...expectOf(row),
      status: 'pending',
      claimedBy: null,
      retryCount: 0,
      releaseCount: row.releaseCount,
      runAfter: now,
      lastError: row.lastError,
      now,
      kind: 'replayed',
      eventPod: null,
      detail: JSON.stringify({ reason: 'parent_replayed', parent_step_id: replayed.stepId, old_retry_count: row.retryCount }),
      requires: { stepId: replayed.stepId, status: replayed.status, attempt: replayed.attempt },
    }));
}

/** Checks every parent (see `gateOf`); throws before anything is written. */
export async function checkParents(run: Run, n: SfNames, parentsOf: readonly string[][], inBatch: boolean, fresh: ReadonlySet<string>): Promise<void> {
  const stored = [...new Set(parentsOf.flat())].filter((id) => !fresh.has(id));
  const statuses = new Map<string, string>([...fresh].map((id) => [id, 'pending']));
  if (stored.length > 0) {
    for (const r of (await run(parentStatusesSql(n, stored), { idempotent: true })).rows) statuses.set(String(r['STEP_ID']), String(r['STATUS']));
  }
  parentsOf.forEach((parents, i) => gateOf(parents, statuses, inBatch ? i : null));
}

/** Writes the edges before the steps, so a child is never visible without them. */
export async function insertEdges(run: Run, n: SfNames, edges: readonly (readonly [string, string])[]): Promise<void> {
  for (let i = 0; i < edges.length; i += 500) await run(edgesInsertSql(n, edges.slice(i, i + 500)), { idempotent: true });
}
