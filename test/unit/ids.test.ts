import { describe, expect, it } from 'vitest';
import { newPodId, newStepId } from '../../src/ids.js';

describe('ids', () => {
  it('step ids start with step_ and sort by creation time', () => {
    const a = newStepId(1_700_000_000_000);
    const b = newStepId(1_700_000_000_001);
    expect(a).toMatch(/^step_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
  });

  it('ids made in one millisecond sort in the order made, across carries of the random part', () => {
    const ids = Array.from({ length: 5_000 }, () => newStepId(1_700_000_000_002));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^step_[0-9A-HJKMNP-TV-Z]{26}$/);
    // 5,000 increments carry out of the last digit about 156 times.
    expect(new Set(ids.map((id) => id.at(-2))).size).toBeGreaterThan(1);
  });

  it('a new millisecond starts a fresh random part, and an earlier one still sorts by time', () => {
    const a = newStepId(1_700_000_000_010);
    const b = newStepId(1_700_000_000_011);
    const c = newStepId(1_700_000_000_009);
    expect(a < b && c < a).toBe(true);
    expect(b.slice(15)).not.toBe(a.slice(15));
  });

  it('pod ids are <name>-<8 hex> with a fresh suffix each time', () => {
    const a = newPodId('worker');
    expect(a).toMatch(/^worker-[0-9a-f]{8}$/);
    expect(newPodId('worker')).not.toBe(a);
  });
});
