/**
 * The heartbeat machine: proves this pod alive by beating every `heartbeatInterval` (actor
 * `heartbeat`, one `pod_health` update) and tells its parent the moment liveness can no longer be
 * proven, so the pod fences itself before the others declare it dead (DESIGN §3, self-fencing).
 * It owns the beat cadence and the fence window; it must not decide what fencing does (the
 * supervisor does) and it reads no clock: both timers are `after` delays.
 *
 * Fence window: `fenceWindowMs` comes from input (src/config/liveness.ts owns the rule and its proof:
 * the midpoint of interval and threshold, accepted only when threshold ≥ interval + 2 × the heartbeat
 * latency budget). It is armed on entering `trusted` and re-armed (by re-entering it) on every
 * confirmed beat, so it measures time since the last confirmation; missed beats do not touch it. A
 * beat that hangs is covered by the same timer.
 */
import { assign, sendParent, setup } from 'xstate';
import { describeError, placeholders } from './actors.js';
import type { HeartbeatFact } from './events.js';

/** Timing comes from configuration (`FLEET_Q_HEARTBEAT_INTERVAL_SECONDS`, and the fence window derived by src/config/liveness.ts). */
export interface HeartbeatMachineInput {
  readonly podId: string;
  readonly heartbeatIntervalMs: number;
  /** How long after the last confirmed beat (or the registration) the pod stops trusting itself. */
  readonly fenceWindowMs: number;
}

export interface HeartbeatMachineContext extends HeartbeatMachineInput {
  /** Confirmed beats so far. */
  readonly confirmedBeats: number;
  /** Misses since the last confirmation. */
  readonly missedInARow: number;
  readonly lastError: string | null;
  readonly lostReason: 'down' | 'deadline' | null;
}

export const heartbeatMachine = setup({
  types: {
    context: {} as HeartbeatMachineContext,
    input: {} as HeartbeatMachineInput,
  },
  actors: { heartbeat: placeholders.heartbeat },
  delays: {
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    fenceAfter: ({ context }) => context.fenceWindowMs,
  },
  guards: {
    beatConfirmed: (_, params: { ok: boolean }) => params.ok,
  },
  actions: {
    recordConfirmed: assign({ confirmedBeats: ({ context }) => context.confirmedBeats + 1, missedInARow: 0 }),
    recordMissed: assign({
      missedInARow: ({ context }) => context.missedInARow + 1,
      lastError: (_, params: { error: unknown }) => describeError(params.error),
    }),
    recordRowDown: assign({ lostReason: 'down' as const }),
    recordDeadline: assign({ lostReason: 'deadline' as const }),
    tellConfirmed: sendParent(({ context }) => ({ type: 'heartbeat.confirmed', podId: context.podId }) satisfies HeartbeatFact),
    tellMissed: sendParent(
      ({ context }) =>
        ({
          type: 'heartbeat.missed',
          podId: context.podId,
          error: context.lastError ?? 'unknown error',
        }) satisfies HeartbeatFact,
    ),
    tellLost: sendParent(
      ({ context }) =>
        ({
          type: 'heartbeat.lost',
          podId: context.podId,
          reason: context.lostReason ?? 'deadline',
        }) satisfies HeartbeatFact,
    ),
  },
}).createMachine({
  id: 'heartbeat',
  context: ({ input }) => ({ ...input, confirmedBeats: 0, missedInARow: 0, lastError: null, lostReason: null }),
  // Registration wrote last_heartbeat_ts, so the pod starts trusted.
  initial: 'trusted',
  states: {
    trusted: {
      after: { fenceAfter: { target: 'lost', actions: 'recordDeadline' } },
      initial: 'confirmed',
      states: {
        confirmed: { after: { heartbeatInterval: 'beating' } },
        missed: { after: { heartbeatInterval: 'beating' } },
        beating: {
          invoke: {
            src: 'heartbeat',
            input: ({ context }) => ({ podId: context.podId }),
            onDone: [
              {
                guard: { type: 'beatConfirmed', params: ({ event }) => ({ ok: event.output.ok }) },
                // Re-entering `trusted` re-arms the fence window from this confirmation.
                target: '#heartbeat.trusted',
                reenter: true,
                actions: ['recordConfirmed', 'tellConfirmed'],
              },
              { target: '#heartbeat.lost', actions: 'recordRowDown' },
            ],
            onError: {
              target: 'missed',
              actions: [{ type: 'recordMissed', params: ({ event }) => ({ error: event.error }) }, 'tellMissed'],
            },
          },
        },
      },
    },
    lost: { type: 'final', entry: 'tellLost' },
  },
});
