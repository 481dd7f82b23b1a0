/**
 * The Snowflake change watcher (src/store/snowflake/watch.ts) on its own: its back-off, what it
 * tells subscribers (work, and whether they may rely on it instead of claim polls), its wake-up for
 * the next due step, and the polls it skips while the pod's own claims look for work. The marker
 * read is the one input (a counter here; the driver's is a `MAX(EVENT_ID)` statement), timers are
 * vitest's fake ones.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChangeWatcher } from '../../src/store/snowflake/watch.js';

function watcherWith(marker: { value: number; fail: boolean }) {
  const reads: number[] = [];
  const errors: unknown[] = [];
  const watcher = new ChangeWatcher(
    async () => {
      reads.push(Date.now());
      if (marker.fail) throw new Error('network');
      return marker.value;
    },
    { intervalMs: 100, maxIntervalMs: 400 },
    (err) => errors.push(err),
  );
  return { watcher, reads, errors };
}

describe('Snowflake change watcher', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('polls at once, then backs off to its cap while nothing changes, and wakes and polls fast again on a change', async () => {
    const marker = { value: 7, fail: false };
    const { watcher, reads } = watcherWith(marker);
    const woken: number[] = [];
    watcher.subscribe(() => woken.push(Date.now()));
    await vi.advanceTimersByTimeAsync(1_500);
    expect(reads).toEqual([0, 200, 600, 1_000, 1_400]);
    expect(woken).toEqual([]);
    marker.value = 8;
    await vi.advanceTimersByTimeAsync(400);
    expect(woken).toEqual([1_800]);
    await vi.advanceTimersByTimeAsync(100);
    expect(reads.slice(5)).toEqual([1_800, 1_900]);
    watcher.close();
  });

  it('tells subscribers they may rely on it while its polls succeed, and not while they fail', async () => {
    const marker = { value: 1, fail: false };
    const { watcher, errors } = watcherWith(marker);
    const states: boolean[] = [];
    watcher.subscribe(
      () => undefined,
      (listening) => states.push(listening),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(states).toEqual([true]);
    const late: boolean[] = [];
    watcher.subscribe(
      () => undefined,
      (listening) => late.push(listening),
    );
    expect(late).toEqual([true]);
    marker.fail = true;
    await vi.advanceTimersByTimeAsync(200);
    expect(states).toEqual([true, false]);
    expect(errors).toHaveLength(1);
    marker.fail = false;
    await vi.advanceTimersByTimeAsync(400);
    expect(states).toEqual([true, false, true]);
    watcher.close();
  });

  it('skips the poll while the store claimed since the last one, staying at the first interval', async () => {
    const { watcher, reads } = watcherWith({ value: 1, fail: false });
    watcher.subscribe(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toEqual([0]);
    watcher.noteClaim();
    await vi.advanceTimersByTimeAsync(200); // the poll due at 200 is skipped; the next comes 100 later
    expect(reads).toEqual([0]);
    await vi.advanceTimersByTimeAsync(100);
    expect(reads).toEqual([0, 300]);
    watcher.close();
  });

  it('wakes subscribers when the next pending step falls due, once; a newer due time replaces it', async () => {
    const { watcher } = watcherWith({ value: 1, fail: false });
    const woken: number[] = [];
    watcher.subscribe(() => woken.push(Date.now()));
    watcher.wakeIn(5_000);
    watcher.wakeIn(2_500);
    watcher.wakeIn(null);
    watcher.wakeIn(3_000);
    watcher.wakeIn(-10); // due already: the copy that makes it claimable moves the marker
    watcher.wakeIn(3_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(woken).toEqual([3_000]);
    watcher.close();
    watcher.wakeIn(100);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(woken).toEqual([3_000]);
  });
});
