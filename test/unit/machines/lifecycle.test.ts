/**
 * The step-row lifecycle machine (DESIGN §2 transition table): the legal transitions and the state
 * each leaves, illegal ones refused, step_events records replayed into their row, and a fast-check
 * property (seed from FLEET_Q_TEST_SEED, printed on failure) that its invariants hold over random
 * event sequences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyLifecycleEvent,
  LIFECYCLE_EVENT_TYPES,
  lifecycleEventFromRecord,
  lifecycleMachine,
  lifecycleStateOf,
  runLifecycle,
  startLifecycle,
  STEP_KINDS,
  type LifecycleEvent,
  type LifecycleRecord,
} from '../../../machines/index.js';
import { STEP_EVENT_KINDS } from '../../../src/store/store.js';

const policy = { maxReleases: 2 };
const submit = (maxRetries = 2): LifecycleEvent => ({ type: 'submitted', maxRetries });
const claim = (podId: string): LifecycleEvent => ({ type: 'claimed', podId });

describe('lifecycle machine (the oracle)', () => {
  it('speaks exactly the DESIGN §2 event kinds of the store contract', () => {
    expect([...STEP_KINDS]).toEqual([...STEP_EVENT_KINDS]);
    expect([...LIFECYCLE_EVENT_TYPES]).toEqual([...STEP_KINDS]);
    expect(new Set(lifecycleMachine.events)).toEqual(new Set(STEP_KINDS));
  });

  it('submit → claim → complete keeps the holder and counts the attempt', () => {
    const run = runLifecycle([submit(), claim('p1'), { type: 'completed', podId: 'p1', attempt: 1 }], policy);
    expect(run).toMatchObject({ state: 'completed', illegal: null, accepted: 3 });
    expect(run.context).toMatchObject({ attempt: 1, retryCount: 0, claimedBy: 'p1', lastError: null });
  });

  it('retries while retries are left, then only a dead-letter is legal (retry_count == max_retries)', () => {
    const events: LifecycleEvent[] = [submit(2)];
    for (let attempt = 1; attempt <= 2; attempt++) {
      events.push(claim('p1'), { type: 'retried', podId: 'p1', attempt, reason: 'error', error: `e${attempt}` });
    }
    events.push(claim('p1'));
    const retriedAgain: LifecycleEvent = { type: 'retried', podId: 'p1', attempt: 3, reason: 'timeout', error: 'slow' };
    const tooMany = runLifecycle([...events, retriedAgain], policy);
    expect(tooMany.illegal).toEqual({ index: 6, event: retriedAgain, state: 'claimed' });

    const dlq = runLifecycle([...events, { type: 'dead_lettered', podId: 'p1', attempt: 3, reason: 'timeout', error: 'slow' }], policy);
    expect(dlq).toMatchObject({ state: 'failed', illegal: null });
    expect(dlq.context).toMatchObject({ attempt: 3, retryCount: 2, maxRetries: 2, claimedBy: 'p1', lastError: 'slow' });
  });

  it('dead-letters early only for non_retryable errors', () => {
    const base = [submit(3), claim('p1')];
    expect(runLifecycle([...base, { type: 'dead_lettered', podId: 'p1', attempt: 1, reason: 'error', error: 'x' }], policy).illegal?.index).toBe(2);
    expect(runLifecycle([...base, { type: 'dead_lettered', podId: 'p1', attempt: 1, reason: 'non_retryable', error: 'bad' }], policy).state).toBe('failed');
  });

  it('recovery needs no fence but retries left; a pod_dead dead-letter needs none left', () => {
    const recovered = runLifecycle([submit(1), claim('p1'), { type: 'recovered', error: 'claim held by dead pod p1' }], policy);
    expect(recovered).toMatchObject({ state: 'pending', illegal: null });
    expect(recovered.context).toMatchObject({ retryCount: 1, claimedBy: null, lastError: 'claim held by dead pod p1' });

    const events: LifecycleEvent[] = [submit(1), claim('p1'), { type: 'recovered', error: 'dead' }, claim('p2')];
    expect(runLifecycle([...events, { type: 'recovered', error: 'dead' }], policy).illegal?.index).toBe(4);
    expect(runLifecycle([...events, { type: 'dead_lettered', reason: 'pod_dead', error: 'dead again' }], policy).context).toMatchObject({
      retryCount: 1,
      claimedBy: 'p2',
      lastError: 'dead again',
    });
  });

  it('fenced writes must name the current holder and attempt; anything else is a stale write that changes nothing', () => {
    const events: LifecycleEvent[] = [submit(), claim('p1'), { type: 'recovered', error: 'dead' }, claim('p2')];
    for (const wrong of [
      { podId: 'p1', attempt: 2 },
      { podId: 'p2', attempt: 1 },
    ]) {
      expect(runLifecycle([...events, { type: 'completed', ...wrong }], policy).illegal?.index).toBe(4);
      const stale = runLifecycle([...events, { type: 'stale_write_rejected', ...wrong }], policy);
      expect(stale).toMatchObject({ state: 'claimed', illegal: null });
      expect(stale.context).toMatchObject({ claimedBy: 'p2', attempt: 2, staleWrites: 1 });
    }
    expect(runLifecycle([...events, { type: 'stale_write_rejected', podId: 'p2', attempt: 2 }], policy).illegal?.index).toBe(4);
    const late = runLifecycle([...events, { type: 'completed', podId: 'p2', attempt: 2 }, { type: 'stale_write_rejected', podId: 'p1', attempt: 1 }], policy);
    expect(late).toMatchObject({ state: 'completed', illegal: null });
  });

  it('releases up to the cap keep retry_count; past it a release is a retry or a dead-letter with reason release', () => {
    const events: LifecycleEvent[] = [submit(1)];
    for (let attempt = 1; attempt <= 2; attempt++) events.push(claim('p1'), { type: 'released', podId: 'p1', attempt });
    events.push(claim('p1'));
    const capped = runLifecycle(events, policy);
    expect(capped.context).toMatchObject({ releaseCount: 2, retryCount: 0, attempt: 3 });
    expect(runLifecycle([...events, { type: 'released', podId: 'p1', attempt: 3 }], policy).illegal?.index).toBe(6);

    const earlyReleaseRetry: LifecycleEvent[] = [submit(1), claim('p1'), { type: 'retried', podId: 'p1', attempt: 1, reason: 'release', error: 'released' }];
    expect(runLifecycle(earlyReleaseRetry, policy).illegal?.index).toBe(2);

    const asRetry = [...events, { type: 'retried', podId: 'p1', attempt: 3, reason: 'release', error: 'drained' } as const, claim('p1')];
    expect(runLifecycle(asRetry, policy).context).toMatchObject({ retryCount: 1, releaseCount: 2 });
    const out = runLifecycle([...asRetry, { type: 'dead_lettered', podId: 'p1', attempt: 4, reason: 'release', error: 'drained' }], policy);
    expect(out).toMatchObject({ state: 'failed', illegal: null });
  });

  it('replay only from failed: retry_count 0, attempt and last_error kept', () => {
    const dead: LifecycleEvent[] = [submit(0), claim('p1'), { type: 'dead_lettered', podId: 'p1', attempt: 1, reason: 'error', error: 'boom' }];
    const replayed = runLifecycle([...dead, { type: 'replayed' }], policy);
    expect(replayed).toMatchObject({ state: 'pending', illegal: null });
    expect(replayed.context).toMatchObject({ retryCount: 0, attempt: 1, lastError: 'boom', claimedBy: null });
    expect(runLifecycle([submit(), { type: 'replayed' }], policy).illegal?.index).toBe(1);
    expect(runLifecycle([submit(), submit()], policy).illegal?.index).toBe(1);
    expect(runLifecycle([claim('p1')], policy).illegal).toMatchObject({ index: 0, state: 'unsubmitted' });
  });

  it('replays step_events records into the row they produced', () => {
    const records: LifecycleRecord[] = [
      { kind: 'submitted', podId: null, attempt: 0, detail: { priority: 0, max_retries: 1 } },
      { kind: 'claimed', podId: 'a-1', attempt: 1, detail: {} },
      { kind: 'recovered', podId: 'b-2', attempt: 1, detail: { reason: 'pod_dead', error: 'claim held by dead pod a-1', retry_count: 1 } },
      { kind: 'claimed', podId: 'b-2', attempt: 2, detail: {} },
      { kind: 'stale_write_rejected', podId: 'a-1', attempt: 1, detail: { write: 'complete', status: 'claimed', claimed_by: 'b-2', attempt: 2 } },
      { kind: 'dead_lettered', podId: 'b-2', attempt: 2, detail: { reason: 'error', error: 'boom' } },
      { kind: 'replayed', podId: null, attempt: 2, detail: { old_retry_count: 1 } },
      { kind: 'claimed', podId: 'b-2', attempt: 3, detail: {} },
      { kind: 'released', podId: 'b-2', attempt: 3, detail: { release_count: 1 } },
      { kind: 'claimed', podId: 'c-3', attempt: 4, detail: {} },
      { kind: 'retried', podId: 'c-3', attempt: 4, detail: { reason: 'timeout', error: 'timed out', retry_count: 1 } },
    ];
    const run = runLifecycle(records.map(lifecycleEventFromRecord), policy);
    expect(run.illegal).toBeNull();
    expect(run.state).toBe('pending');
    expect(run.context).toMatchObject({ claimedBy: null, attempt: 4, retryCount: 1, releaseCount: 1, lastError: 'timed out', staleWrites: 1 });
    expect(() => lifecycleEventFromRecord({ kind: 'exploded', podId: null, attempt: 0, detail: {} })).toThrow(/unknown step event kind/);
  });

  it('keeps its invariants over random event sequences', () => {
    const seed = Number(process.env['FLEET_Q_TEST_SEED'] ?? 20240611);
    const pods = ['p1', 'p2'] as const;
    const step = fc.record({
      kind: fc.constantFrom(...STEP_KINDS),
      holder: fc.boolean(), // write with the current fence, or a stale one
      pod: fc.constantFrom(...pods),
      reason: fc.constantFrom('error', 'timeout', 'release', 'non_retryable', 'pod_dead'),
    });
    const property = fc.property(fc.nat(3), fc.array(step, { minLength: 1, maxLength: 60 }), (maxRetries, steps) => {
      let snapshot = startLifecycle(policy);
      let claims = 0;
      let replays = 0;
      for (const s of [{ kind: 'submitted', holder: true, pod: 'p1', reason: 'error' } as const, ...steps]) {
        const c = snapshot.context;
        const fence = s.holder ? { podId: c.claimedBy ?? s.pod, attempt: c.attempt } : { podId: s.pod, attempt: c.attempt + 1 };
        const event = toEvent(s.kind, fence, s.pod, s.reason, maxRetries);
        const next = applyLifecycleEvent(snapshot, event);
        if (!next.legal) {
          expect(next.snapshot).toBe(snapshot);
          continue;
        }
        snapshot = next.snapshot;
        if (event.type === 'claimed') claims++;
        if (event.type === 'replayed') replays++;
        const state = lifecycleStateOf(snapshot);
        const ctx = snapshot.context;
        expect(ctx.attempt).toBe(claims);
        expect(ctx.retryCount).toBeLessThanOrEqual(ctx.maxRetries);
        expect(ctx.releaseCount).toBeLessThanOrEqual(policy.maxReleases);
        if (state === 'claimed') expect(ctx.claimedBy).not.toBeNull();
        if (state === 'pending') expect(ctx.claimedBy).toBeNull();
        if (replays === 0) expect(ctx.attempt).toBeLessThanOrEqual(ctx.maxRetries + 1 + ctx.releaseCount);
        if (state === 'completed' || state === 'cancelled') {
          for (const kind of STEP_KINDS.filter((k) => k !== 'stale_write_rejected')) {
            expect(snapshot.can(toEvent(kind, { podId: ctx.claimedBy ?? 'p1', attempt: ctx.attempt }, 'p1', 'error', maxRetries))).toBe(false);
          }
        }
      }
    });
    try {
      fc.assert(property, { seed, numRuns: 300 });
    } catch (err) {
      throw new Error(`lifecycle property failed with FLEET_Q_TEST_SEED=${seed}\n${String(err)}`, { cause: err });
    }
  });
});

function toEvent(kind: string, fence: { podId: string; attempt: number }, pod: string, reason: string, maxRetries: number): LifecycleEvent {
  switch (kind) {
    case 'submitted':
      return { type: 'submitted', maxRetries };
    case 'claimed':
      return { type: 'claimed', podId: pod };
    case 'completed':
      return { type: 'completed', ...fence };
    case 'retried':
      return { type: 'retried', ...fence, reason: reason === 'timeout' || reason === 'release' ? reason : 'error', error: 'e' };
    case 'recovered':
      return { type: 'recovered', error: 'dead' };
    case 'dead_lettered':
      return { type: 'dead_lettered', ...fence, reason: reason as 'error', error: 'e' };
    case 'released':
      return { type: 'released', ...fence };
    case 'replayed':
      return { type: 'replayed' };
    case 'cancelled':
      return { type: 'cancelled' };
    default:
      return { type: 'stale_write_rejected', ...fence };
  }
}
