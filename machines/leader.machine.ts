/**
 * The leader machine: learns whether this pod is the leader (actor `checkLeader`, the live pod with
 * the smallest `(birth_ts, pod_id)` by DB time) every `leaderCheckInterval`, and while it leads runs
 * the recovery sweep (`recover`) every `recoveryInterval` and retention pruning (`prune`) every
 * `pruneInterval`. It owns when sweeps happen and that only one runs at a time on this pod; it must
 * not decide anything a sweep decides (the store does, in conditional statements harmless under two
 * leaders), and it reads no clock.
 *
 * A follower re-checks no later than the moment the leader it was told of stops being live unless it
 * beats again (`leaderLapsesInMs`): a leader that vanished (killed, or an incarnation that fenced
 * itself) is replaced within the dead-pod threshold of its last heartbeat, not a leader-check interval
 * later, so a fleet whose pods flap still finds a sweeping leader (the new leader sweeps at once).
 *
 * Choices: a pod checks once at start, so a fresh fleet finds its leader at once; a new leader
 * sweeps at once (the previous one may have died with orphaned claims); a failed check while leading
 * steps down, because leadership must be proven and an error proves nothing (a follower just waits).
 * `recovery.run` (the admin route) sweeps now if this pod leads or `force` is set, is refused as
 * `busy` while a sweep runs and `not_leader` otherwise; a scheduled sweep due while one runs is skipped.
 *
 * Recurring schedules: while it leads, the pod runs an enqueue round (`enqueueSchedules`) at once (a
 * new leader catches up on ticks missed before it) and then again when the round says the next tick
 * falls; a failed round is retried after `scheduleRetryMs` (at most 1 s, a tick's resolution). The
 * round decides nothing about which ticks exist: two leaders running it at once are harmless.
 */
import { assign, raise, sendParent, setup } from 'xstate';
import { describeError, placeholders } from './actors.js';
import type { LeaderFact, PruneReport, RecoveryReport } from './events.js';

/** Timing from configuration; `retentionMs <= 0` keeps history forever (never prunes). */
export interface LeaderMachineInput {
  readonly podId: string;
  readonly leaderCheckIntervalMs: number;
  readonly recoveryIntervalMs: number;
  readonly pruneIntervalMs: number;
  readonly retentionMs: number;
}

/** `POST /admin/recovery/run`; the answer is a `recovery.completed | failed | refused` fact with the same `requestId`. */
export interface RecoveryRunEvent {
  readonly type: 'recovery.run';
  readonly requestId: string;
  readonly force: boolean;
  readonly dryRun: boolean;
}

/** Raised by the leader region when a scheduled sweep is due (internal; exported for declaration files). */
export interface RecoveryDueEvent {
  readonly type: 'recovery.due';
}

export type LeaderMachineEvent = RecoveryRunEvent | RecoveryDueEvent;

/** The sweep in flight: who asked (null for a scheduled one) and whether it writes. */
export interface SweepRequest {
  readonly requestId: string | null;
  readonly dryRun: boolean;
}

export interface LeaderMachineContext extends LeaderMachineInput {
  readonly isLeader: boolean;
  readonly leaderId: string | null;
  /** From the last check: how long until the leader's liveness lapses without a new beat; null if unknown. */
  readonly leaderLapsesInMs: number | null;
  readonly sweep: SweepRequest | null;
  readonly sweeps: number;
  /** From the last schedule round: how long until the next one. */
  readonly scheduleInMs: number;
}

/** After a failed schedule round: soon (ticks fall on seconds), never later than a leader check. */
function scheduleRetryMs(context: LeaderMachineInput): number {
  return Math.min(1_000, context.leaderCheckIntervalMs);
}

export const leaderMachine = setup({
  types: {
    context: {} as LeaderMachineContext,
    input: {} as LeaderMachineInput,
    events: {} as LeaderMachineEvent,
  },
  actors: {
    checkLeader: placeholders.checkLeader,
    recover: placeholders.recover,
    prune: placeholders.prune,
    enqueueSchedules: placeholders.enqueueSchedules,
  },
  delays: {
    leaderCheckInterval: ({ context }) => context.leaderCheckIntervalMs,
    followerRecheck: ({ context }) =>
      context.leaderLapsesInMs === null ? context.leaderCheckIntervalMs : Math.max(1, Math.min(context.leaderCheckIntervalMs, context.leaderLapsesInMs)),
    recoveryInterval: ({ context }) => context.recoveryIntervalMs,
    pruneInterval: ({ context }) => context.pruneIntervalMs,
    scheduleRound: ({ context }) => context.scheduleInMs,
  },
  guards: {
    elected: (_, params: { isLeader: boolean }) => params.isLeader,
    mayRunNow: ({ context, event }) => event.type === 'recovery.run' && (context.isLeader || event.force),
    retentionEnabled: ({ context }) => context.retentionMs > 0,
    ticksAhead: (_, params: { nextInMs: number | null }) => params.nextInMs !== null,
  },
  actions: {
    becomeLeader: assign({ isLeader: true, leaderId: ({ context }) => context.podId }),
    becomeFollower: assign({
      isLeader: false,
      leaderId: (_, params: { leaderId: string | null; lapsesInMs?: number | null }) => params.leaderId,
      leaderLapsesInMs: (_, params: { leaderId: string | null; lapsesInMs?: number | null }) => params.lapsesInMs ?? null,
    }),
    requestSweep: raise({ type: 'recovery.due' }),
    startScheduledSweep: assign({ sweep: { requestId: null, dryRun: false } }),
    startRequestedSweep: assign({
      sweep: ({ event }) => (event.type === 'recovery.run' ? { requestId: event.requestId, dryRun: event.dryRun } : null),
    }),
    planScheduleRound: assign({ scheduleInMs: (_, params: { inMs: number }) => Math.max(1, params.inMs) }),
    finishSweep: assign({ sweep: null, sweeps: ({ context }) => context.sweeps + 1 }),
    tellElected: sendParent(({ context }) => ({ type: 'leader.elected', podId: context.podId }) satisfies LeaderFact),
    tellLost: sendParent(({ context }) => ({ type: 'leader.lost', podId: context.podId, leaderId: context.leaderId }) satisfies LeaderFact),
    tellCheckFailed: sendParent(
      ({ context }, params: { error: unknown }) =>
        ({
          type: 'leader.check_failed',
          podId: context.podId,
          error: describeError(params.error),
        }) satisfies LeaderFact,
    ),
    tellSweepDone: sendParent(
      ({ context }, params: { report: RecoveryReport }) =>
        ({
          type: 'recovery.completed',
          requestId: context.sweep?.requestId ?? null,
          report: params.report,
        }) satisfies LeaderFact,
    ),
    tellSweepFailed: sendParent(
      ({ context }, params: { error: unknown }) =>
        ({
          type: 'recovery.failed',
          requestId: context.sweep?.requestId ?? null,
          error: describeError(params.error),
        }) satisfies LeaderFact,
    ),
    refuseBusy: sendParent(
      ({ event }) =>
        ({
          type: 'recovery.refused',
          requestId: event.type === 'recovery.run' ? event.requestId : '',
          reason: 'busy',
        }) satisfies LeaderFact,
    ),
    refuseNotLeader: sendParent(
      ({ event }) =>
        ({
          type: 'recovery.refused',
          requestId: event.type === 'recovery.run' ? event.requestId : '',
          reason: 'not_leader',
        }) satisfies LeaderFact,
    ),
    tellPruned: sendParent((_, params: { report: PruneReport }) => ({ type: 'prune.completed', report: params.report }) satisfies LeaderFact),
    tellPruneFailed: sendParent(
      (_, params: { error: unknown }) =>
        ({
          type: 'prune.failed',
          error: describeError(params.error),
        }) satisfies LeaderFact,
    ),
  },
}).createMachine({
  id: 'leader',
  context: ({ input }) => ({ ...input, isLeader: false, leaderId: null, leaderLapsesInMs: null, sweep: null, sweeps: 0, scheduleInMs: 1 }),
  type: 'parallel',
  states: {
    role: {
      initial: 'follower',
      states: {
        follower: {
          initial: 'checking',
          states: {
            checking: {
              invoke: {
                src: 'checkLeader',
                input: ({ context }) => ({ podId: context.podId }),
                onDone: [
                  {
                    guard: { type: 'elected', params: ({ event }) => ({ isLeader: event.output.isLeader }) },
                    target: '#leader.role.leader',
                    actions: ['becomeLeader', 'tellElected'],
                  },
                  {
                    target: 'waiting',
                    actions: {
                      type: 'becomeFollower',
                      params: ({ event }) => ({ leaderId: event.output.leaderId, lapsesInMs: event.output.leaderLapsesInMs }),
                    },
                  },
                ],
                onError: {
                  target: 'waiting',
                  actions: [
                    { type: 'tellCheckFailed', params: ({ event }) => ({ error: event.error }) },
                    { type: 'becomeFollower', params: ({ context }) => ({ leaderId: context.leaderId }) },
                  ],
                },
              },
            },
            waiting: { after: { followerRecheck: 'checking' } },
          },
        },
        leader: {
          type: 'parallel',
          entry: 'requestSweep',
          states: {
            election: {
              initial: 'waiting',
              states: {
                waiting: { after: { leaderCheckInterval: 'checking' } },
                checking: {
                  invoke: {
                    src: 'checkLeader',
                    input: ({ context }) => ({ podId: context.podId }),
                    onDone: [
                      { guard: { type: 'elected', params: ({ event }) => ({ isLeader: event.output.isLeader }) }, target: 'waiting' },
                      {
                        target: '#leader.role.follower.waiting',
                        actions: [
                          { type: 'becomeFollower', params: ({ event }) => ({ leaderId: event.output.leaderId, lapsesInMs: event.output.leaderLapsesInMs }) },
                          'tellLost',
                        ],
                      },
                    ],
                    onError: {
                      target: '#leader.role.follower.waiting',
                      actions: [
                        { type: 'tellCheckFailed', params: ({ event }) => ({ error: event.error }) },
                        { type: 'becomeFollower', params: { leaderId: null } },
                        'tellLost',
                      ],
                    },
                  },
                },
              },
            },
            recovery: {
              initial: 'waiting',
              states: {
                waiting: { after: { recoveryInterval: { target: 'waiting', reenter: true, actions: 'requestSweep' } } },
              },
            },
            scheduling: {
              initial: 'enqueuing',
              states: {
                enqueuing: {
                  invoke: {
                    src: 'enqueueSchedules',
                    input: ({ context }) => ({ podId: context.podId }),
                    onDone: [
                      {
                        guard: { type: 'ticksAhead', params: ({ event }) => ({ nextInMs: event.output.nextInMs }) },
                        target: 'waiting',
                        actions: { type: 'planScheduleRound', params: ({ event }) => ({ inMs: event.output.nextInMs ?? 0 }) },
                      },
                      { target: 'idle' },
                    ],
                    onError: {
                      target: 'waiting',
                      actions: { type: 'planScheduleRound', params: ({ context }) => ({ inMs: scheduleRetryMs(context) }) },
                    },
                  },
                },
                waiting: { after: { scheduleRound: 'enqueuing' } },
                // No schedule fires again (or the pod has none): nothing to wake up for.
                idle: {},
              },
            },
            pruning: {
              initial: 'waiting',
              states: {
                waiting: { after: { pruneInterval: { guard: 'retentionEnabled', target: 'pruning' } } },
                pruning: {
                  invoke: {
                    src: 'prune',
                    input: ({ context }) => ({ olderThanMs: context.retentionMs }),
                    onDone: { target: 'waiting', actions: { type: 'tellPruned', params: ({ event }) => ({ report: event.output }) } },
                    onError: { target: 'waiting', actions: { type: 'tellPruneFailed', params: ({ event }) => ({ error: event.error }) } },
                  },
                },
              },
            },
          },
        },
      },
    },
    sweeper: {
      initial: 'idle',
      states: {
        idle: {
          on: {
            'recovery.due': { target: 'sweeping', actions: 'startScheduledSweep' },
            'recovery.run': [{ guard: 'mayRunNow', target: 'sweeping', actions: 'startRequestedSweep' }, { actions: 'refuseNotLeader' }],
          },
        },
        sweeping: {
          invoke: {
            src: 'recover',
            input: ({ context }) => ({ podId: context.podId, dryRun: context.sweep?.dryRun ?? false }),
            onDone: {
              target: 'idle',
              actions: [{ type: 'tellSweepDone', params: ({ event }) => ({ report: event.output }) }, 'finishSweep'],
            },
            onError: {
              target: 'idle',
              actions: [{ type: 'tellSweepFailed', params: ({ event }) => ({ error: event.error }) }, 'finishSweep'],
            },
          },
          on: { 'recovery.run': { actions: 'refuseBusy' } },
        },
      },
    },
  },
});
