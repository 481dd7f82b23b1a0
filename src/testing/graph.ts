/**
 * Graph checks of a custom lifecycle with `xstate/graph`: traverse the machine's transition function
 * (no actor runs, no effect happens) from its initial state under every event its states accept, and
 * list the states it never reached. Done events get an empty and a non-empty output, error events an
 * `Error` and a `NonRetryableError`, so guards on either side are taken. A state reachable only with
 * other payloads is reported unreachable: give such a machine explicit events to make it checkable.
 * It owns the traversal; it must not run the lifecycle's actors.
 */
import pino from 'pino';
import { getNextTransitions, SimulatedClock, type AnyMachineSnapshot, type AnyStateMachine, type AnyStateNode, type EventObject } from 'xstate';
import { getAdjacencyMap, getStateNodes } from 'xstate/graph';
import { NonRetryableError } from '../errors.js';
import type { LifecycleInput } from '../steps/lifecycle.js';
import type { StepLifecycle } from '../steps/lifecycle.js';

/** What the traversal found. */
export interface ReachabilityReport {
  /** Every state node id of the machine (e.g. `confirming.waiting`). */
  readonly states: readonly string[];
  readonly reached: readonly string[];
  readonly unreachable: readonly string[];
  /** Set when the lifecycle is not a state machine, or the traversal failed (then nothing is reported unreachable). */
  readonly skipped?: string;
}

/** Traversal bound: a machine whose state values are unbounded stops here. */
const LIMIT = 5_000;

function isMachine(logic: StepLifecycle): logic is AnyStateMachine {
  return typeof (logic as { root?: unknown }).root === 'object' && typeof (logic as { resolveState?: unknown }).resolveState === 'function';
}

function payloadsOf(type: string): object[] {
  if (type.startsWith('xstate.done.actor.')) return [{ output: undefined }, { output: { ok: true } }];
  if (type.startsWith('xstate.error.actor.'))
    return [{ error: new Error('simulated failure') }, { error: new NonRetryableError('simulated non-retryable failure') }];
  return [{}];
}

/**
 * Which states of `lifecycle` the traversal reaches from its initial state, started once with each of
 * `argsExamples` as input args. A transient state (left at once by an eventless `always` transition)
 * never rests in a snapshot; it counts as reached when it is the initial state of a reached parent (or
 * of the machine) or the target of a transition out of a reached state, and the targets of its own
 * eventless transitions count as reached whatever their guards (a static over-approximation).
 */
export function lifecycleReachability(lifecycle: StepLifecycle, argsExamples: readonly unknown[]): ReachabilityReport {
  if (!isMachine(lifecycle)) return { states: [], reached: [], unreachable: [], skipped: 'the lifecycle is not a state machine' };
  const machine = lifecycle;
  const name = (node: AnyStateNode) => node.path.join('.');
  const states = getStateNodes(machine.root)
    .map(name)
    .filter((s) => s !== '');
  const inputOf = (args: unknown): LifecycleInput => ({
    args,
    attempt: 1,
    idempotencyKey: 'graph-check',
    stepId: 'step_graph_check',
    signal: new AbortController().signal,
    clock: new SimulatedClock(),
    progress: () => undefined,
    extend: () => undefined,
    log: pino({ level: 'silent' }),
    parents: {},
    runHandler: async () => null,
  });
  try {
    const reached = new Set<string>();
    for (const args of argsExamples) {
      const map = getAdjacencyMap(machine, {
        input: inputOf(args),
        limit: LIMIT,
        serializeState: (s) => JSON.stringify((s as AnyMachineSnapshot).value),
        events: (s) =>
          [...new Set(getNextTransitions(s as AnyMachineSnapshot).map((t) => t.eventType))]
            .filter((type) => type !== '*' && !type.endsWith('.*'))
            .flatMap((type) => payloadsOf(type).map((p) => ({ type, ...p }) as EventObject)),
      });
      for (const { state } of Object.values(map)) {
        for (const node of (state as unknown as { _nodes: AnyStateNode[] })._nodes) if (node.path.length > 0) reached.add(name(node));
      }
    }
    addTransientStates(machine, reached, name);
    return { states, reached: [...reached].sort(), unreachable: states.filter((s) => !reached.has(s)) };
  } catch (err) {
    return { states, reached: [], unreachable: [], skipped: `graph traversal failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Marks transient states reached (see lifecycleReachability), until nothing changes. */
function addTransientStates(machine: AnyStateMachine, reached: Set<string>, name: (node: AnyStateNode) => string): void {
  const nodes = getStateNodes(machine.root);
  const isReached = (node: AnyStateNode) => node.path.length === 0 || reached.has(name(node));
  for (let grew = true; grew;) {
    grew = false;
    const mark = (node: AnyStateNode | undefined) => {
      if (node === undefined || isReached(node)) return;
      reached.add(name(node));
      grew = true;
    };
    for (const node of [machine.root, ...nodes]) {
      if (!isReached(node)) continue;
      for (const target of node.initial?.target ?? []) mark(target);
      for (const transitions of node.transitions.values()) for (const t of transitions) for (const target of t.target ?? []) mark(target);
      for (const t of node.always ?? []) for (const target of t.target ?? []) mark(target);
    }
  }
}
