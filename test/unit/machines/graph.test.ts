/**
 * Graph checks with `xstate/graph`: every stable state of every machine is reachable, and from every
 * reachable state a final state (or, for the lifecycle, a terminal status) is still reachable.
 * Traversal runs the pure transition function, so parent-facing actions are stubbed and done events
 * get payloads (a synthetic done event has no output).
 */
import { describe, expect, it } from 'vitest';
import { getNextTransitions, type AnyEventObject, type AnyMachineSnapshot, type AnyStateMachine, type AnyStateNode, type StateValue } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getStateNodes } from 'xstate/graph';
import { heartbeatMachine, leaderMachine, lifecycleMachine, slotMachine, supervisorMachine, type ClaimedStep } from '../../../machines/index.js';

const noop = () => {};
const step: ClaimedStep = { stepId: 's1', type: 'echo', args: null, attempt: 1, timeoutMs: 1_000, idempotencyKey: null };
const sweepReport = { dryRun: false, deadPods: [], orphanedSteps: [], requeued: [], deadLettered: [], durationMs: 0 };

/** Leaf state paths of a snapshot value ('a.b' for { a: 'b' }; one per parallel region). */
function leaves(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  return Object.entries(value).flatMap(([key, child]) => (child === undefined ? [prefix + key] : leaves(child, `${prefix}${key}.`)));
}

/** Atomic states a snapshot can rest in: not those left at once by an unguarded `always`. */
function stableLeaves(machine: AnyStateMachine): string[] {
  const transient = (n: AnyStateNode) => (n.always ?? []).some((t) => !t.guard);
  return getStateNodes(machine.root)
    .filter((n) => Object.keys(n.states).length === 0 && !transient(n))
    .map((n) => n.path.join('.'));
}

/** The invoke id → actor source name of every state node, to give done events the right payloads. */
function invokeSources(machine: AnyStateMachine): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of [machine.root, ...getStateNodes(machine.root)]) for (const inv of node.invoke) out.set(inv.id, String(inv.src));
  return out;
}

interface Exploration {
  /** serialized state → its snapshot */
  nodes: Map<string, AnyMachineSnapshot>;
  edges: [string, string][];
}

function explore(
  machine: AnyStateMachine,
  input: unknown,
  payloads: Record<string, object[] | ((snapshot: AnyMachineSnapshot) => object[])>,
  digest: (snapshot: AnyMachineSnapshot) => unknown = () => null,
): Exploration {
  const sources = invokeSources(machine);
  const payloadsFor = (type: string, snapshot: AnyMachineSnapshot): object[] => {
    const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    const entry = payloads[actor ? `${actor[1]}:${sources.get(actor[2]!) ?? actor[2]}` : type] ?? [{}];
    return typeof entry === 'function' ? entry(snapshot) : entry;
  };
  const serialize = (s: AnyMachineSnapshot) => JSON.stringify([s.value, digest(s)]);
  const map = getAdjacencyMap(machine, {
    input,
    serializeState: serialize,
    events: (s: AnyMachineSnapshot) =>
      [...new Set(getNextTransitions(s).map((t) => t.eventType))]
        .filter((type) => type !== '*' && type !== '')
        .flatMap((type) => payloadsFor(type, s).map((p) => ({ type, ...p }) as AnyEventObject)),
  } as never);
  const nodes = new Map<string, AnyMachineSnapshot>();
  const edges: [string, string][] = [];
  for (const { state, nextState } of adjacencyMapToArray(map)) {
    const [from, to] = [state as AnyMachineSnapshot, nextState as AnyMachineSnapshot];
    nodes.set(serialize(from), from);
    nodes.set(serialize(to), to);
    edges.push([serialize(from), serialize(to)]);
  }
  return { nodes, edges };
}

/** States from which some state satisfying `goal` is reachable. */
function canReach(g: Exploration, goal: (s: AnyMachineSnapshot) => boolean): Set<string> {
  const ok = new Set([...g.nodes].filter(([, s]) => goal(s)).map(([k]) => k));
  for (let grew = true; grew;) {
    grew = false;
    for (const [from, to] of g.edges)
      if (ok.has(to) && !ok.has(from)) {
        ok.add(from);
        grew = true;
      }
  }
  return ok;
}

function reachedLeaves(g: Exploration): Set<string> {
  return new Set([...g.nodes.values()].flatMap((s) => leaves(s.value)));
}

describe('machine graphs', () => {
  it('heartbeat: every state reachable; lost reachable from everywhere', () => {
    const m = heartbeatMachine.provide({ actions: { tellConfirmed: noop, tellMissed: noop, tellLost: noop } });
    const g = explore(
      m,
      { podId: 'p', heartbeatIntervalMs: 1, fenceWindowMs: 3 },
      {
        'done:heartbeat': [{ output: { ok: true } }, { output: { ok: false } }],
        'error:heartbeat': [{ error: new Error('x') }],
      },
    );
    expect(reachedLeaves(g)).toEqual(new Set(stableLeaves(m)));
    expect(canReach(g, (s) => s.status === 'done').size).toBe(g.nodes.size);
  });

  it('leader: every state reachable; leadership can always be gained and lost', () => {
    const stubs = Object.fromEntries(
      ['tellElected', 'tellLost', 'tellCheckFailed', 'tellSweepDone', 'tellSweepFailed', 'refuseBusy', 'refuseNotLeader', 'tellPruned', 'tellPruneFailed'].map(
        (a) => [a, noop],
      ),
    );
    const m = leaderMachine.provide({ actions: stubs });
    const g = explore(
      m,
      { podId: 'p', leaderCheckIntervalMs: 1, recoveryIntervalMs: 2, pruneIntervalMs: 3, retentionMs: 4 },
      {
        'done:checkLeader': [{ output: { isLeader: true, leaderId: 'p' } }, { output: { isLeader: false, leaderId: 'q' } }],
        'done:recover': [{ output: sweepReport }],
        'done:prune': [{ output: { steps: 0, events: 0, pods: 0 } }],
        'done:enqueueSchedules': [{ output: { nextInMs: 5 } }, { output: { nextInMs: null } }],
        'recovery.run': [
          { requestId: 'r', force: false, dryRun: false },
          { requestId: 'r', force: true, dryRun: true },
        ],
      },
      (s) => s.context.isLeader,
    );
    expect(reachedLeaves(g)).toEqual(new Set(stableLeaves(m)));
    expect(canReach(g, (s) => s.matches({ role: 'leader' })).size).toBe(g.nodes.size);
    expect(canReach(g, (s) => s.matches({ role: 'follower' })).size).toBe(g.nodes.size);
  });

  it('slot: every state of the step it runs reachable; every outcome reachable; idle reachable from everywhere', () => {
    const m = slotMachine.provide({ actions: { tellFreed: noop, write: noop, abortHandler: noop } });
    const g = explore(
      m,
      { slotId: 's', reportRetryDelayMs: 1 },
      {
        'slot.assign': [{ podId: 'p', step }],
        'write.done': ['completed', 'retried', 'dead_lettered', 'released', 'stale'].map((outcome) => ({ outcome })),
        'write.failed': [{ error: 'e' }],
        'success.written': ['completed', 'dead_lettered', 'stale'].map((outcome) => ({ outcome })),
        'error:runStep': [{ error: new Error('crash') }],
        'handler.succeeded': [{ result: 1 }],
        'handler.failed': [{ error: 'e', retryable: true }],
        'handler.timedOut': [{ ms: 1_000, extended: false }],
        'step.abort': [{ mode: 'release' }, { mode: 'fenced' }],
      },
      (s) => [s.context.handlerSettled, s.context.abortMode, s.context.outcome, s.context.crash],
    );
    expect(reachedLeaves(g)).toEqual(new Set(stableLeaves(m)));
    expect(canReach(g, (s) => s.value === 'idle').size).toBe(g.nodes.size);
    // The outcome a slot frees itself with stays in its context until the next assignment.
    const freedWith = new Set([...g.nodes.values()].filter((s) => s.value === 'idle').map((s) => s.context.outcome));
    expect(freedWith).toEqual(new Set([null, 'completed', 'retried', 'dead_lettered', 'released', 'stale']));
  });

  it('supervisor: every stable state reachable; stopped reachable from everywhere', () => {
    const m = supervisorMachine.provide({ actions: { abortBusySlots: noop, forwardToLeader: noop } });
    const g = explore(
      m,
      {
        capacity: 2,
        heartbeatIntervalMs: 1,
        fenceWindowMs: 3,
        claimIntervalMs: 1,
        // Batched claims, so that the state gathering a batch's freed slots is explored too.
        claimMinBatch: 2,
        leaderCheckIntervalMs: 1,
        recoveryIntervalMs: 1,
        pruneIntervalMs: 1,
        retentionMs: 0,
        shutdownGraceMs: 1,
        registerRetryDelayMs: 1,
        reportRetryDelayMs: 1,
      },
      {
        'done:register': [{ output: { podId: 'p' } }],
        'done:claimSteps': [{ output: [step] }, { output: [] }],
        'error:claimSteps': [{ error: new Error('busy') }, { error: Object.assign(new Error('fenced'), { code: 'pod_fenced' }) }],
        // A slot frees itself once per assignment: only a busy slot sends slot.freed.
        'slot.freed': (s) => (s.context.inFlight > 0 ? [{ slotId: 'slot-0', stepId: 's1', outcome: 'completed' }] : []),
        'heartbeat.lost': [{ podId: 'p', reason: 'deadline' }],
        'recovery.run': [{ requestId: 'r', force: false, dryRun: false }],
      },
      (s) => [s.context.idleCount, s.context.drainRequested, s.context.claimAgain],
    );
    expect(reachedLeaves(g)).toEqual(new Set(stableLeaves(m)));
    expect(canReach(g, (s) => s.status === 'done').size).toBe(g.nodes.size);
  });

  it('lifecycle: every status reachable; a terminal status (completed, failed, cancelled) reachable from every status', () => {
    // Fenced writes name the current claim, read from the snapshot; attempt is left out of the
    // state key because replays let it grow without bound.
    const fence = (s: AnyMachineSnapshot) => ({ podId: s.context.claimedBy, attempt: s.context.attempt });
    const g = explore(
      lifecycleMachine,
      { maxReleases: 1 },
      {
        submitted: [{ maxRetries: 1 }],
        claimed: [{ podId: 'p' }],
        completed: (s) => [fence(s)],
        retried: (s) => [
          { ...fence(s), reason: 'error', error: 'e' },
          { ...fence(s), reason: 'release', error: 'e' },
        ],
        dead_lettered: (s) => ['error', 'non_retryable', 'release'].map((reason) => ({ ...fence(s), reason, error: 'e' })),
        released: (s) => [fence(s)],
        recovered: [{ error: 'e' }],
        stale_write_rejected: [{ podId: 'q', attempt: -1 }],
        cancelled: [{}],
      },
      (s) => [s.context.retryCount, s.context.releaseCount],
    );
    expect(reachedLeaves(g)).toEqual(new Set(stableLeaves(lifecycleMachine)));
    expect(canReach(g, (s) => s.value === 'completed' || s.value === 'failed' || s.value === 'cancelled').size).toBe(g.nodes.size);
  });
});
