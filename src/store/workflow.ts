/**
 * Workflow rules every driver shares, so all stores refuse the same DAGs the same way and walk a
 * graph alike: checking the `depends_on` references of a submission or batch (before any write) and
 * walking the graph reachable from one step through the driver's edge and row reads. Owns no SQL.
 */
import { ConflictError, ValidationError, type FleetErrorItem } from '../errors.js';
import type { StepRow, StepSubmitParams, WorkflowEdge, WorkflowGraph } from './store.js';

/** Most parents one step may name: a workflow step, not a fan-in of a whole queue. */
export const MAX_PARENTS = 100;

/** Default and largest number of nodes `workflowGraph` returns. */
export const DEFAULT_GRAPH_LIMIT = 1_000;

/** One checked parent: an existing step id, or an earlier item of the same batch. */
export type ResolvedParent = { readonly stepId: string } | { readonly index: number };

type Submission = Omit<StepSubmitParams, 'now'>;

const STEP_ID = /^step_[A-Za-z0-9_-]{1,120}$/;

function refProblem(ref: unknown, at: number, inBatch: boolean, size: number): string | null {
  if (typeof ref === 'string') return STEP_ID.test(ref) ? null : `'${ref}' is not a step id`;
  const index = (ref as { index?: unknown } | null)?.index;
  if (typeof ref !== 'object' || ref === null || !Number.isInteger(index) || Object.keys(ref).length !== 1) {
    return 'must be a step id or { "index": <earlier batch item> }';
  }
  if (!inBatch) return 'a reference by index is only allowed in a batch';
  const i = index as number;
  if (i === at) return 'depends on itself';
  if (i < 0 || i >= size) return `refers to item ${i}, which is not in the batch`;
  return null;
}

/**
 * The parents of each item, deduplicated, or a `ValidationError` naming every bad item: malformed or
 * self references, too many parents, indexes outside the batch, and index references to later items
 * (which is how a cycle shows: items that reach themselves through index references are named as
 * a cycle). `inBatch` false: a single submission, where `{ index }` is refused.
 */
export function checkDependencies(steps: readonly Submission[], inBatch: boolean): ResolvedParent[][] {
  const problems: FleetErrorItem[] = [];
  const label = (i: number): string => (inBatch ? `${i}.dependsOn` : 'dependsOn');
  const resolved = steps.map((s, i) => {
    const refs = (s.dependsOn ?? []) as readonly unknown[];
    if (!Array.isArray(refs)) {
      problems.push({ loc: label(i), msg: 'must be an array' });
      return [];
    }
    if (refs.length > MAX_PARENTS) problems.push({ loc: label(i), msg: `names ${refs.length} parents; at most ${MAX_PARENTS}` });
    const seen = new Set<string>();
    const out: ResolvedParent[] = [];
    refs.forEach((ref, j) => {
      const problem = refProblem(ref, i, inBatch, steps.length);
      if (problem !== null) return problems.push({ loc: `${label(i)}.${j}`, msg: problem });
      const parent: ResolvedParent = typeof ref === 'string' ? { stepId: ref } : { index: (ref as { index: number }).index };
      const key = JSON.stringify(parent);
      if (!seen.has(key)) out.push(parent);
      seen.add(key);
      return undefined;
    });
    return out;
  });
  const inCycle = cycleMembers(resolved);
  resolved.forEach((parents, i) => {
    for (const p of parents) {
      if (!('index' in p) || p.index < i) continue;
      const msg = inCycle.has(i)
        ? `is part of a dependency cycle through items ${[...inCycle].sort((a, b) => a - b).join(', ')}`
        : `refers to later item ${p.index}; a parent must come earlier in the batch`;
      problems.push({ loc: label(i), msg });
      break;
    }
  });
  if (problems.length > 0) {
    const items = [...new Set(problems.map((p) => p.loc.split('.')[0]))];
    throw new ValidationError(
      inCycle.size > 0 ? `dependency cycle through batch items ${[...inCycle].sort((a, b) => a - b).join(', ')}` : `invalid depends_on (${items.join(', ')})`,
      problems,
    );
  }
  return resolved;
}

/** Items that reach themselves through index references (Tarjan would do; batches are small). */
function cycleMembers(resolved: readonly ResolvedParent[][]): Set<number> {
  const members = new Set<number>();
  const parentsOf = (i: number): number[] => (resolved[i] ?? []).flatMap((p) => ('index' in p && p.index >= 0 && p.index < resolved.length ? [p.index] : []));
  resolved.forEach((_, start) => {
    const seen = new Set<number>();
    const stack = parentsOf(start);
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (next === start) {
        members.add(start);
        return;
      }
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...parentsOf(next));
    }
  });
  return members;
}

/** The parent ids of one item once the batch's earlier items have ids. */
export function parentIds(parents: readonly ResolvedParent[], earlierIds: readonly string[]): string[] {
  return [...new Set(parents.map((p) => ('index' in p ? earlierIds[p.index]! : p.stepId)))];
}

/**
 * Checks the parents found in the database for one item: every named parent must exist and none
 * may be dead-lettered (its children would never run; replay it first). Returns how many have not
 * completed: the item's gate.
 */
export function gateOf(parents: readonly string[], found: ReadonlyMap<string, string>, index: number | null): number {
  const label = index === null ? '' : `item ${index}: `;
  const missing = parents.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const msg = `unknown parent step(s): ${missing.join(', ')}`;
    throw new ValidationError(label + msg, [{ loc: index === null ? 'dependsOn' : `${index}.dependsOn`, msg }]);
  }
  const failed = parents.filter((id) => found.get(id) === 'failed');
  if (failed.length > 0) throw new ConflictError(`${label}parent step(s) ${failed.join(', ')} are dead-lettered; replay them first`);
  return parents.filter((id) => found.get(id) !== 'completed').length;
}

/** What `failed` descendants carry as `last_error`: names the dead-lettered ancestor. */
export function parentFailedError(parentStepId: string): string {
  return `parent step ${parentStepId} failed`;
}

/** The reads a driver gives `walkWorkflow`. */
export interface WorkflowReads {
  /** Edges with either end in `stepIds`. */
  edgesTouching(stepIds: readonly string[]): Promise<WorkflowEdge[]>;
  /** The rows of `stepIds` that exist. */
  rows(stepIds: readonly string[]): Promise<StepRow[]>;
}

/**
 * Breadth-first walk from `stepId` over edges in both directions, up to `limit` nodes. Edges to
 * steps no longer stored (pruned by retention) are left out. Null when `stepId` is unknown.
 */
export async function walkWorkflow(stepId: string, limit: number | undefined, reads: WorkflowReads): Promise<WorkflowGraph | null> {
  const max = Math.max(1, Math.min(Math.floor(limit ?? DEFAULT_GRAPH_LIMIT), DEFAULT_GRAPH_LIMIT));
  const start = await reads.rows([stepId]);
  if (start.length === 0) return null;
  const reached = new Set<string>([stepId]);
  const edges = new Map<string, WorkflowEdge>();
  let frontier = [stepId];
  let truncated = false;
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const e of await reads.edgesTouching(frontier)) {
      edges.set(`${e.stepId} ${e.parentStepId}`, e);
      for (const id of [e.stepId, e.parentStepId]) {
        if (reached.has(id)) continue;
        if (reached.size >= max) {
          truncated = true;
          continue;
        }
        reached.add(id);
        next.push(id);
      }
    }
    frontier = next;
  }
  const nodes = (await reads.rows([...reached])).sort((a, b) => (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
  const present = new Set(nodes.map((n) => n.stepId));
  const kept = [...edges.values()]
    .filter((e) => present.has(e.stepId) && present.has(e.parentStepId))
    .sort((a, b) => (a.stepId === b.stepId ? cmp(a.parentStepId, b.parentStepId) : cmp(a.stepId, b.stepId)));
  return { nodes, edges: kept, truncated };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
