/**
 * The trail arithmetic the flow-limit tests check against (test/support/flow-trail.ts), on trails
 * written by hand: a replay by time must count claims that overlapped, and nothing more.
 */
import { describe, expect, it } from 'vitest';
import type { StepEvent, StepEventKind } from '../../src/store/store.js';
import { maxConcurrentByTime } from '../support/flow-trail.js';

let nextId = 1;
function event(kind: StepEventKind, stepId: string, ts: number, attempt = 1): StepEvent {
  return { eventId: nextId++, stepId, ts, kind, podId: 'pod', attempt, detail: {} };
}

describe('maxConcurrentByTime', () => {
  const ids = new Set(['a', 'b', 'c', 'x']);
  /** x's handler never started, so the caller replays its claim a second after its stamp; the others' at their stamps. */
  const xStartsLate = (claim: StepEvent) => (claim.stepId === 'x' ? claim.ts + 1_000 : claim.ts);

  it('replays a claim no later than the event that ended it', () => {
    // x's pod fenced itself before starting the handler; x was recovered 300 ms after its stamp,
    // sooner than the moment the caller would replay a claim with no handler start.
    const trail = [
      event('claimed', 'x', 1_000),
      event('recovered', 'x', 1_300),
      event('claimed', 'a', 1_500),
      event('claimed', 'b', 1_500),
      event('claimed', 'c', 1_500),
      event('completed', 'a', 2_500),
      event('completed', 'b', 2_500),
      event('completed', 'c', 2_500),
    ];
    expect(maxConcurrentByTime(trail, ids, xStartsLate)).toBe(3);
  });

  it('still counts that claim while it was held', () => {
    const trail = [
      event('claimed', 'a', 1_000),
      event('claimed', 'b', 1_000),
      event('claimed', 'x', 1_100),
      event('recovered', 'x', 1_300),
      event('completed', 'a', 2_000),
      event('completed', 'b', 2_000),
    ];
    expect(maxConcurrentByTime(trail, ids, xStartsLate)).toBe(3);
  });

  it('ends only the attempt the event names: a later attempt of the step is held until its own end', () => {
    const trail = [
      event('claimed', 'x', 1_000, 1),
      event('recovered', 'x', 1_200, 1),
      event('claimed', 'x', 1_400, 2),
      event('claimed', 'a', 1_500),
      event('claimed', 'b', 1_500),
      event('completed', 'x', 3_000, 2),
      event('completed', 'a', 3_000),
      event('completed', 'b', 3_000),
    ];
    expect(maxConcurrentByTime(trail, ids, (claim) => claim.ts + 200)).toBe(3);
  });
});
