/**
 * How a pod records failing attempts: retries follow the store's backoff (claims never come before
 * `run_after`, and come soon after it), exhausted and non-retryable failures dead-letter at once, an
 * oversized result fails for good, and a timeout is recorded at the timeout while the slot stays busy
 * until the handler settles.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PodWorld, gate } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

describe('failing attempts on a pod', () => {
  it('retries with the backoff: each claim after the run_after of the retry before it, and soon after', async () => {
    world = new PodWorld();
    await world.startPod('alpha');
    const id = await world.submit('flaky', { times: 3 }, { maxRetries: 3 });
    await world.waitForStatus(id, 'completed');

    const events = await world.events(id);
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'retried', 'claimed', 'retried', 'claimed', 'retried', 'claimed', 'completed']);
    const retried = events.filter((e) => e.kind === 'retried');
    const claims = events.filter((e) => e.kind === 'claimed');
    retried.forEach((event, i) => {
      const n = i + 1;
      const ceiling = Math.min(50 * 2 ** (n - 1), 200);
      const runAfter = event.detail['run_after'] as number;
      expect(event.detail).toMatchObject({ reason: 'error', error: `flaky attempt ${n}`, retry_count: n });
      expect(runAfter - event.ts, `retry ${n} delay`).toBeGreaterThanOrEqual(Math.floor(0.5 * ceiling));
      expect(runAfter - event.ts, `retry ${n} delay`).toBeLessThanOrEqual(ceiling);
      const next = claims[n]!;
      expect(next.ts, `claim ${n + 1} not before run_after`).toBeGreaterThanOrEqual(runAfter);
      // Woken by the store's run_after check (~100 ms polls), not the 0.5 s claim interval.
      expect(next.ts - runAfter, `claim ${n + 1} soon after run_after`).toBeLessThan(450);
    });
    expect(world.executionsOf(id).map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    expect(world.executionsOf(id).every((e) => e.idempotencyKey === id)).toBe(true);
    const row = await (await world.store()).stepGet({ stepId: id });
    expect(row).toMatchObject({ status: 'completed', attempt: 4, retryCount: 3, result: { attempt: 4 } });
  });

  it('dead-letters after max_retries retries with reason error', async () => {
    world = new PodWorld();
    await world.startPod('alpha');
    const id = await world.submit('flaky', { times: 9 }, { maxRetries: 2 });
    await world.waitForStatus(id, 'failed');
    expect(await world.kinds(id)).toEqual(['submitted', 'claimed', 'retried', 'claimed', 'retried', 'claimed', 'dead_lettered']);
    const last = (await world.events(id)).at(-1)!;
    expect(last.detail).toMatchObject({ reason: 'error', error: 'flaky attempt 3', retry_count: 2 });
    expect(world.executionsOf(id)).toHaveLength(3);
  });

  it('dead-letters a NonRetryableError or an error retryable(err) refuses at once, whatever retries are left', async () => {
    world = new PodWorld();
    await world.startPod('alpha');
    const fatal = await world.submit('fatal', {}, { maxRetries: 5 });
    const picky = await world.submit('picky', {}, { maxRetries: 5 });
    await world.waitForStatus(fatal, 'failed');
    await world.waitForStatus(picky, 'failed');
    for (const [id, error] of [
      [fatal, 'cannot ever work'],
      [picky, 'picky refuses'],
    ] as const) {
      const events = await world.events(id);
      expect(events.map((e) => e.kind)).toEqual(['submitted', 'claimed', 'dead_lettered']);
      expect(events[2]!.detail).toMatchObject({ reason: 'non_retryable', error, retry_count: 0 });
      expect(world.executionsOf(id)).toHaveLength(1);
      const row = await (await world.store()).stepGet({ stepId: id });
      expect(row).toMatchObject({ status: 'failed', retryCount: 0, lastError: error });
    }
  });

  it('fails an attempt whose result is over 256 KiB for good, with a clear error', async () => {
    world = new PodWorld();
    await world.startPod('alpha');
    const id = await world.submit('big', {}, { maxRetries: 3 });
    await world.waitForStatus(id, 'failed');
    expect(await world.kinds(id)).toEqual(['submitted', 'claimed', 'dead_lettered']);
    const row = await (await world.store()).stepGet({ stepId: id });
    expect(row?.lastError).toMatch(/^step result is \d+ bytes serialised; the limit is 262144 \(256 KiB\)/);
    expect(row?.result).toBeNull();
  });

  it('records a timeout at the timeout and keeps the slot busy until the handler settles', async () => {
    world = new PodWorld();
    // Both pending before the pod starts: the first claim (capacity 1) takes the higher priority.
    const slow = await world.submit('hold', {}, { timeoutMs: 150, priority: 10, maxRetries: 3 });
    const other = await world.submit('work', { ms: 0 });
    const held = gate();
    world.gates.set(slow, held);
    const pod = await world.startPod('alpha', { maxParallelism: 1 });

    const retried = await waitFor('the timeout', async () => (await world.events(slow)).find((e) => e.kind === 'retried'));
    const claimed = (await world.events(slow)).find((e) => e.kind === 'claimed')!;
    expect(retried.detail).toMatchObject({ reason: 'timeout', retry_count: 1 });
    expect(retried.ts - claimed.ts).toBeGreaterThanOrEqual(150);
    expect(retried.ts - claimed.ts).toBeLessThan(600);
    await waitFor('the handler to see its signal abort', () => world.executionsOf(slow)[0]!.abortedAt !== undefined);
    expect(world.executionsOf(slow)[0]!.abortReason).toBe('step aborted: timeout');
    expect(world.logged('step.timed_out')).toHaveLength(1);

    // Both steps are claimable now, but the only slot still runs the timed-out handler.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(pod.health().inFlight).toBe(1);
    expect((await world.events()).filter((e) => e.kind === 'claimed')).toHaveLength(1);
    expect(world.executionsOf(other)).toHaveLength(0);

    const openedAt = Date.now();
    held.open();
    await world.waitForStatus(slow, 'completed');
    await world.waitForStatus(other, 'completed');
    const laterClaims = (await world.events()).filter((e) => e.kind === 'claimed').slice(1);
    expect(laterClaims).toHaveLength(2);
    for (const claim of laterClaims) expect(claim.ts).toBeGreaterThanOrEqual(openedAt);
    // The late result of attempt 1 was dropped without a write; attempt 2 completed the step.
    expect(await world.kinds(slow)).toEqual(['submitted', 'claimed', 'retried', 'claimed', 'completed']);
    expect((await (await world.store()).stepGet({ stepId: slow }))?.attempt).toBe(2);
  });
});
