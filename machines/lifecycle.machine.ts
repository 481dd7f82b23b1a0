/**
 * The lifecycle machine: a step row's persisted status, driven by the DESIGN §2 event kinds. It is
 * the oracle of the property and conformance tests (given events, it decides which are legal and the
 * row's status, claimed_by, attempt, retry_count, release_count and last_error) and the contract a
 * custom lifecycle must keep. It owns the legality rules only; it must not know about time, backoff
 * or ordering of claims (`run_after` and priorities are the store's business).
 *
 * Rules (DESIGN §3 and the store contract): a fenced write (completed, retried, released, and
 * dead_lettered unless swept) must name the holder and attempt of the current claim; `retried`,
 * `recovered` need retries left; `dead_lettered` needs none left, or reason `non_retryable`;
 * `released` needs releases left, and past that cap a release is a `retried` or `dead_lettered`
 * with reason `release`; `replayed` only from `failed`, resetting retry_count to 0;
 * `stale_write_rejected` is legal whenever the writer does not hold the claim and changes nothing.
 * Workflows: a `pending` step whose ancestor was dead-lettered goes to `failed` by `dead_lettered`
 * with reason `parent_failed` (it was never claimed in this episode, so no fence applies); a replay
 * of that ancestor brings it back by `replayed`, as any failed step.
 * `cancelled` (an operator's cancel) only from `pending` or `claimed`; it keeps claimed_by and
 * attempt, so the holder's later writes are stale; `cancelled` is terminal (no replay).
 * An event that no rule allows is illegal: `runLifecycle` reports where.
 */
import { assign, setup } from 'xstate';
import type { StepKind } from './events.js';

/** Why a step was dead-lettered (`detail.reason`). */
export type DeadLetterReason = 'error' | 'timeout' | 'non_retryable' | 'pod_dead' | 'release' | 'parent_failed';

/** A writer's fence: the pod and the attempt it claimed. */
interface Fence {
  readonly podId: string;
  readonly attempt: number;
}

/** One event per `step_events.kind`, with what the rules need. */
export type LifecycleEvent =
  | { readonly type: 'submitted'; readonly maxRetries: number }
  | { readonly type: 'claimed'; readonly podId: string }
  | ({ readonly type: 'completed' } & Fence)
  | ({ readonly type: 'retried'; readonly reason: 'error' | 'timeout' | 'release'; readonly error: string } & Fence)
  | { readonly type: 'recovered'; readonly error: string }
  | { readonly type: 'dead_lettered'; readonly reason: DeadLetterReason; readonly error: string; readonly podId?: string | null; readonly attempt?: number }
  | ({ readonly type: 'released' } & Fence)
  | { readonly type: 'replayed' }
  | ({ readonly type: 'stale_write_rejected' } & Fence)
  | { readonly type: 'cancelled' };

/** `maxReleases` is the store policy (`FLEET_Q_MAX_RELEASES`). */
export interface LifecycleInput {
  readonly maxReleases: number;
}

export interface LifecycleContext {
  readonly maxRetries: number;
  readonly maxReleases: number;
  readonly attempt: number;
  readonly retryCount: number;
  readonly releaseCount: number;
  readonly claimedBy: string | null;
  readonly lastError: string | null;
  readonly staleWrites: number;
}

type Args = { context: LifecycleContext; event: LifecycleEvent };

const holdsClaim = ({ context, event }: Args): boolean =>
  'podId' in event && 'attempt' in event && event.podId === context.claimedBy && event.attempt === context.attempt;
const retriesLeft = (context: LifecycleContext): boolean => context.retryCount < context.maxRetries;
const releasesLeft = (context: LifecycleContext): boolean => context.releaseCount < context.maxReleases;
const errorOf = (event: LifecycleEvent): string | null => ('error' in event ? event.error : null);
const staleWrite = { stale_write_rejected: { actions: 'countStaleWrite' } } as const;

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    input: {} as LifecycleInput,
    events: {} as LifecycleEvent,
  },
  guards: {
    holdsClaim,
    writeIsStale: (args) => !holdsClaim(args),
    mayRetry: (args) =>
      args.event.type === 'retried' && holdsClaim(args) && retriesLeft(args.context) && (args.event.reason !== 'release' || !releasesLeft(args.context)),
    mayRecover: ({ context }) => retriesLeft(context),
    mayDeadLetter: (args) => {
      const { context, event } = args;
      if (event.type !== 'dead_lettered' || event.reason === 'parent_failed') return false;
      if (event.reason !== 'pod_dead' && !holdsClaim(args)) return false;
      if (event.reason === 'non_retryable') return true;
      if (event.reason === 'release' && releasesLeft(context)) return false;
      return !retriesLeft(context);
    },
    mayRelease: (args) => holdsClaim(args) && releasesLeft(args.context),
    parentFailed: ({ event }) => event.type === 'dead_lettered' && event.reason === 'parent_failed',
  },
  actions: {
    recordSubmit: assign({ maxRetries: ({ event }) => (event.type === 'submitted' ? event.maxRetries : 0) }),
    recordClaim: assign({
      attempt: ({ context }) => context.attempt + 1,
      claimedBy: ({ event }) => (event.type === 'claimed' ? event.podId : null),
    }),
    recordRetry: assign({
      retryCount: ({ context }) => context.retryCount + 1,
      claimedBy: null,
      lastError: ({ event }) => errorOf(event),
    }),
    recordDeadLetter: assign({ lastError: ({ event }) => errorOf(event) }),
    recordRelease: assign({ releaseCount: ({ context }) => context.releaseCount + 1, claimedBy: null }),
    recordReplay: assign({ retryCount: 0, claimedBy: null }),
    countStaleWrite: assign({ staleWrites: ({ context }) => context.staleWrites + 1 }),
  },
}).createMachine({
  id: 'lifecycle',
  context: ({ input }) => ({
    maxRetries: 0,
    maxReleases: input.maxReleases,
    attempt: 0,
    retryCount: 0,
    releaseCount: 0,
    claimedBy: null,
    lastError: null,
    staleWrites: 0,
  }),
  initial: 'unsubmitted',
  states: {
    unsubmitted: { on: { submitted: { target: 'pending', actions: 'recordSubmit' } } },
    pending: {
      on: {
        claimed: { target: 'claimed', actions: 'recordClaim' },
        dead_lettered: { guard: 'parentFailed', target: 'failed', actions: 'recordDeadLetter' },
        cancelled: 'cancelled',
        ...staleWrite,
      },
    },
    claimed: {
      on: {
        completed: { guard: 'holdsClaim', target: 'completed' },
        retried: { guard: 'mayRetry', target: 'pending', actions: 'recordRetry' },
        recovered: { guard: 'mayRecover', target: 'pending', actions: 'recordRetry' },
        dead_lettered: { guard: 'mayDeadLetter', target: 'failed', actions: 'recordDeadLetter' },
        released: { guard: 'mayRelease', target: 'pending', actions: 'recordRelease' },
        stale_write_rejected: { guard: 'writeIsStale', actions: 'countStaleWrite' },
        cancelled: 'cancelled',
      },
    },
    completed: { on: { ...staleWrite } },
    failed: { on: { replayed: { target: 'pending', actions: 'recordReplay' }, ...staleWrite } },
    cancelled: { on: { ...staleWrite } },
  },
});

/** Where a lifecycle is: `unsubmitted` before its `submitted` event, else the row's status. */
export type LifecycleState = 'unsubmitted' | 'pending' | 'claimed' | 'completed' | 'failed' | 'cancelled';

/** Every event kind the machine understands; equal to `STEP_KINDS`. */
export const LIFECYCLE_EVENT_TYPES: readonly StepKind[] = [
  'submitted',
  'claimed',
  'completed',
  'retried',
  'recovered',
  'dead_lettered',
  'released',
  'replayed',
  'stale_write_rejected',
  'cancelled',
];
