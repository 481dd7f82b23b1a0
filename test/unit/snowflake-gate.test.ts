/**
 * The gate's slot choice (src/store/snowflake/gate.ts). Every pod must map a type or a key to the
 * same slot, including pods of different releases during a rolling upgrade, or two of them would
 * take different slots and not exclude each other on row-versioned engines: so the values are
 * pinned (FNV-1a 32-bit of `type\0<type>` or `key\0<type>\0<key>`, modulo 64, computed independently).
 */
import { describe, expect, it } from 'vitest';
import { keySlots, typeSlots } from '../../src/store/snowflake/gate.js';
import { GATE_SLOTS } from '../../src/store/snowflake/queries.gate.js';

describe('Snowflake gate slots', () => {
  it('are stable across releases', () => {
    expect(GATE_SLOTS).toBe(64);
    expect(typeSlots(['limited'])).toEqual([35]);
    expect(typeSlots(['echo'])).toEqual([30]);
    expect(keySlots([['keyed', 'key-0']])).toEqual([32]);
    expect(keySlots([['keyed', 'key-1']])).toEqual([51]);
  });

  it('are sorted, without repeats, and inside the table', () => {
    expect(typeSlots(['limited', 'echo', 'limited'])).toEqual([30, 35]);
    const many = keySlots(Array.from({ length: 500 }, (_, i) => ['t', `k${i}`] as const));
    expect(many).toEqual([...many].sort((a, b) => a - b));
    expect(new Set(many).size).toBe(many.length);
    expect(many.every((s) => Number.isInteger(s) && s >= 0 && s < GATE_SLOTS)).toBe(true);
    expect(many.length).toBeGreaterThan(GATE_SLOTS / 2);
  });
});
