/**
 * WriteCoalescer: writes requested in one event-loop turn share a batch, each caller gets its own
 * result, a failed batch fails only the items that fail on their own, one key never appears twice in
 * a batch, and a batch is cut only when the previous one has finished.
 */
import { describe, expect, it } from 'vitest';
import { WriteCoalescer } from '../../src/store/coalesce.js';

interface Recorder {
  readonly batches: string[][];
  readonly singles: string[];
}

/** A coalescer over strings whose write answers `<item>!`, recording how it was called. */
function recordingCoalescer(options: { failBatch?: boolean; failItem?: string; maxInFlight?: number } = {}) {
  const calls: Recorder = { batches: [], singles: [] };
  const coalescer = new WriteCoalescer<string, string>({
    writeBatch: async (items) => {
      calls.batches.push([...items]);
      if (options.failBatch === true) throw new Error('batch failed');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return items.map((i) => `${i}!`);
    },
    writeOne: async (item) => {
      calls.singles.push(item);
      if (item === options.failItem) throw new Error(`${item} failed`);
      return `${item}!`;
    },
    key: (item) => item.split('#')[0]!,
    ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
  });
  return { coalescer, calls };
}

describe('WriteCoalescer', () => {
  it('writes the calls of one turn as one batch and answers each caller with its own result', async () => {
    const { coalescer, calls } = recordingCoalescer();
    const results = await Promise.all(['a', 'b', 'c'].map((i) => coalescer.submit(i)));
    expect(results).toEqual(['a!', 'b!', 'c!']);
    expect(calls.batches).toEqual([['a', 'b', 'c']]);
    expect(calls.singles).toEqual([]);
  });

  it('writes a lone call on its own', async () => {
    const { coalescer, calls } = recordingCoalescer();
    expect(await coalescer.submit('a')).toBe('a!');
    expect(calls.singles).toEqual(['a']);
    expect(calls.batches).toEqual([]);
  });

  it('after a failed batch writes each item alone, so only the bad item fails', async () => {
    const { coalescer, calls } = recordingCoalescer({ failBatch: true, failItem: 'b' });
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((i) => coalescer.submit(i)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(calls.singles.sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps two writes with one key out of the same batch, in call order', async () => {
    const { coalescer, calls } = recordingCoalescer();
    const results = await Promise.all(['a#1', 'b', 'a#2'].map((i) => coalescer.submit(i)));
    expect(results).toEqual(['a#1!', 'b!', 'a#2!']);
    expect(calls.batches[0]).toEqual(['a#1', 'b']);
    expect(calls.singles).toEqual(['a#2']);
  });

  it('collects the calls made while a batch is in flight into the next batch', async () => {
    const { coalescer, calls } = recordingCoalescer({ maxInFlight: 1 });
    const first = Promise.all(['a', 'b'].map((i) => coalescer.submit(i)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.batches).toEqual([['a', 'b']]);
    const second = Promise.all(['c', 'd', 'e'].map((i) => coalescer.submit(i)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.batches).toHaveLength(1);
    await first;
    await second;
    expect(calls.batches).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });
});
