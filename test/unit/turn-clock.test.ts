import { stat } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TURN_END_CLOCK } from '../../src/pod/turn-clock.js';

const nextTimerTick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('the pod clock', () => {
  it('runs a 0 ms delay at the end of the turn: after the turn’s microtasks, before any timer', async () => {
    const order: string[] = [];
    // From an I/O callback, as after a database answer: the order of what follows is then fixed.
    await new Promise<void>((resolve) =>
      stat('.', () => {
        setTimeout(() => order.push('setTimeout 0'), 0);
        TURN_END_CLOCK.setTimeout(() => order.push('clock 0'), 0);
        void Promise.resolve().then(() => order.push('microtask'));
        resolve();
      }),
    );
    await nextTimerTick();
    expect(order).toEqual(['microtask', 'clock 0', 'setTimeout 0']);
  });

  it('cancels a 0 ms delay and a timed one', async () => {
    const fired: string[] = [];
    const immediate = TURN_END_CLOCK.setTimeout(() => fired.push('0 ms'), 0);
    const timed = TURN_END_CLOCK.setTimeout(() => fired.push('2 ms'), 2);
    TURN_END_CLOCK.clearTimeout(immediate);
    TURN_END_CLOCK.clearTimeout(timed);
    await nextTimerTick();
    expect(fired).toEqual([]);
  });

  it('waits out a positive delay on real time', async () => {
    const started = performance.now();
    const elapsed = await new Promise<number>((resolve) => TURN_END_CLOCK.setTimeout(() => resolve(performance.now() - started), 20));
    expect(elapsed).toBeGreaterThanOrEqual(19);
  });
});
