import { describe, expect, it } from 'vitest';
import { newPodId, newStepId } from '../../src/ids.js';

describe('ids', () => {
  it('step ids start with step_ and sort by creation time', () => {
    const a = newStepId(1_700_000_000_000);
    const b = newStepId(1_700_000_000_001);
    expect(a).toMatch(/^step_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
  });

  it('pod ids are <name>-<8 hex> with a fresh suffix each time', () => {
    const a = newPodId('worker');
    expect(a).toMatch(/^worker-[0-9a-f]{8}$/);
    expect(newPodId('worker')).not.toBe(a);
  });
});
