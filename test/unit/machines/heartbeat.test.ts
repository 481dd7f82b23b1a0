import { describe, expect, it } from 'vitest';
import { heartbeatMachine, type HeartbeatOutput, type PodInput } from '../../../machines/index.js';
import { flush, held, underParent } from './harness.js';

// interval 1 s, window 3 s (threshold 5 s): the pod stops trusting itself 3 s after its last confirmed beat.
const input = { podId: 'pod-a-00000001', heartbeatIntervalMs: 1_000, fenceWindowMs: 3_000 };

function start() {
  const beats = held<HeartbeatOutput, PodInput>();
  const run = underParent(heartbeatMachine.provide({ actors: { heartbeat: beats.logic } }), input);
  const value = () => run.child.getSnapshot().value;
  return { ...run, beats, value };
}

describe('heartbeat machine', () => {
  it('beats once per interval and reports each confirmation', async () => {
    const hb = start();
    expect(hb.value()).toEqual({ trusted: 'confirmed' });
    hb.clock.increment(999);
    expect(hb.beats.calls).toHaveLength(0);
    hb.clock.increment(1);
    expect(hb.beats.calls).toHaveLength(1);
    expect(hb.beats.last().input).toEqual({ podId: input.podId });
    expect(hb.value()).toEqual({ trusted: 'beating' });

    hb.beats.last().resolve({ ok: true });
    await flush();
    expect(hb.value()).toEqual({ trusted: 'confirmed' });
    hb.clock.increment(1_000);
    hb.beats.last().resolve({ ok: true });
    await flush();
    expect(hb.beats.calls).toHaveLength(2);
    expect(hb.facts()).toEqual([
      { type: 'heartbeat.confirmed', podId: input.podId },
      { type: 'heartbeat.confirmed', podId: input.podId },
    ]);
    expect(hb.child.getSnapshot().context.confirmedBeats).toBe(2);
    expect(hb.errors).toEqual([]);
  });

  it('missed beats lead to heartbeat.lost exactly when the fence window since the last confirmation ends', async () => {
    const hb = start();
    hb.clock.increment(1_000);
    hb.beats.last().reject(new Error('database is locked'));
    await flush();
    expect(hb.value()).toEqual({ trusted: 'missed' });
    hb.clock.increment(1_000);
    hb.beats.last().reject(new Error('database is locked'));
    await flush();
    expect(hb.facts('heartbeat.missed')).toHaveLength(2);
    expect(hb.facts('heartbeat.missed')[0]).toEqual({ type: 'heartbeat.missed', podId: input.podId, error: 'database is locked' });

    hb.clock.increment(999); // t = 2999: still trusted, the third beat is due at 3000
    expect(hb.value()).toEqual({ trusted: 'missed' });
    expect(hb.facts('heartbeat.lost')).toEqual([]);
    hb.clock.increment(1); // t = 3000
    expect(hb.child.getSnapshot().status).toBe('done');
    expect(hb.facts('heartbeat.lost')).toEqual([{ type: 'heartbeat.lost', podId: input.podId, reason: 'deadline' }]);
    expect(hb.beats.calls).toHaveLength(2);
  });

  it('a beat that hangs cannot extend trust: the window still closes on time', async () => {
    const hb = start();
    hb.clock.increment(1_000); // the beat never answers
    hb.clock.increment(1_999);
    expect(hb.facts('heartbeat.lost')).toEqual([]);
    hb.clock.increment(1);
    expect(hb.facts('heartbeat.lost')).toEqual([{ type: 'heartbeat.lost', podId: input.podId, reason: 'deadline' }]);
    expect(hb.beats.last().signal.aborted).toBe(true); // the hanging call was abandoned
    hb.beats.last().resolve({ ok: true });
    await flush();
    expect(hb.facts('heartbeat.confirmed')).toEqual([]); // a late answer changes nothing
  });

  it('a confirmed beat after misses restores trust and restarts the window from that confirmation', async () => {
    const hb = start();
    hb.clock.increment(1_000);
    hb.beats.last().reject(new Error('timeout'));
    await flush();
    hb.clock.increment(1_000); // t = 2000
    hb.beats.last().resolve({ ok: true });
    await flush();
    expect(hb.value()).toEqual({ trusted: 'confirmed' });
    expect(hb.child.getSnapshot().context.missedInARow).toBe(0);

    // From t = 2000 every beat misses: lost at 2000 + 3000, not at the original 3000.
    for (let t = 3_000; t <= 4_000; t += 1_000) {
      hb.clock.increment(1_000);
      hb.beats.last().reject(new Error('timeout'));
      await flush();
    }
    expect(hb.facts('heartbeat.lost')).toEqual([]);
    hb.clock.increment(999);
    expect(hb.facts('heartbeat.lost')).toEqual([]);
    hb.clock.increment(1);
    expect(hb.facts('heartbeat.lost')).toEqual([{ type: 'heartbeat.lost', podId: input.podId, reason: 'deadline' }]);
  });

  it('ok: false (row down) is lost at once', async () => {
    const hb = start();
    hb.clock.increment(1_000);
    hb.beats.last().resolve({ ok: false });
    await flush();
    expect(hb.child.getSnapshot().value).toBe('lost');
    expect(hb.facts()).toEqual([{ type: 'heartbeat.lost', podId: input.podId, reason: 'down' }]);
    hb.clock.increment(10_000);
    expect(hb.beats.calls).toHaveLength(1); // a lost heartbeat never beats again
  });
});
