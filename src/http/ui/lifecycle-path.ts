/**
 * The step-row lifecycle as the dashboard draws it: the graph of machines/lifecycle.machine.ts
 * (states and labelled transitions, the same the committed diagram in visualizations/ shows) and the
 * path one step took through it, found by replaying its audit trail through that machine. Owns this
 * translation only; it reads no store and renders nothing.
 */
import type { AnyStateNode } from 'xstate';
import { applyLifecycleEvent, lifecycleEventFromRecord, lifecycleMachine, lifecycleStateOf, startLifecycle } from '../../../machines/index.js';
import type { StepEvent } from '../../store/store.js';

/** One drawn transition; `from === to` for an event that changes no status (a stale write). */
export interface LifecycleEdge {
  readonly from: string;
  readonly to: string;
  readonly event: string;
}

export interface LifecycleGraph {
  readonly initial: string;
  readonly states: readonly string[];
  readonly edges: readonly LifecycleEdge[];
}

/** One event of a step's trail, placed on the graph. */
export interface PathStep {
  readonly event_id: number;
  readonly kind: string;
  readonly attempt: number;
  readonly ts: number;
  readonly from: string;
  readonly to: string;
  /** False when the machine refuses the event (a trail that breaks the lifecycle's rules). */
  readonly legal: boolean;
}

let graph: LifecycleGraph | null = null;

/** The lifecycle machine's states and transitions, read once from its definition. */
export function lifecycleGraph(): LifecycleGraph {
  if (graph !== null) return graph;
  const nodes = Object.values(lifecycleMachine.root.states) as AnyStateNode[];
  const edges: LifecycleEdge[] = [];
  for (const node of nodes) {
    for (const [event, transitions] of node.transitions) {
      for (const t of transitions) edges.push({ from: node.key, to: t.target?.[0]?.key ?? node.key, event });
    }
  }
  const initial = String(lifecycleStateOf(startLifecycle({ maxReleases: 0 })));
  graph = { initial, states: nodes.map((n) => n.key), edges };
  return graph;
}

/** Where each of `events` (in `event_id` order) took the step, by the lifecycle machine's own rules. */
export function lifecyclePath(events: readonly StepEvent[], maxReleases: number): PathStep[] {
  let snapshot = startLifecycle({ maxReleases });
  return events.map((event) => {
    const from = String(lifecycleStateOf(snapshot));
    const next = applyLifecycleEvent(snapshot, lifecycleEventFromRecord(event));
    snapshot = next.snapshot;
    return { event_id: event.eventId, kind: event.kind, attempt: event.attempt, ts: event.ts, from, to: String(lifecycleStateOf(snapshot)), legal: next.legal };
  });
}
