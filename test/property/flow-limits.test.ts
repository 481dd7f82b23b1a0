/**
 * Race property of fleet-wide flow control: several pods (store instances, each with its own
 * connection) claim, complete, fail and release steps of a limited type and a free type at once, on a
 * real store, by the database clock. Whatever the interleaving, the audit trail shows the limits held:
 * never more than `concurrency` steps of the limited type claimed at once (replaying `claimed` and the
 * events that end a claim in event_id order, which is commit order for a limited type's claims), and
 * never more than `rateLimit.max` claims of it with start times in any window of `intervalMs`.
 * Runs on SQLite and PostgreSQL, and MySQL when its server answers. Small: each run lasts about a
 * second of wall time. The seed is FLEET_Q_TEST_SEED (printed on failure).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClaimedStepRow, Store, StepEvent, TypeFlowLimit } from '../../src/store/store.js';
import { POD_A, POD_B, POD_C, POLICY, registerPod } from '../conformance/fixtures.js';
import { STORE_FACTORIES, type StoreFactory } from '../conformance/stores.js';
import { failureReport, testSeed } from './harness.js';
import { maxConcurrent, maxStartsInWindow } from '../support/flow-trail.js';

const LIMITED = 'limited';
const FREE = 'free';
const PODS = [POD_A, POD_B, POD_C, 'delta-0000000d'];
/** Wall time of one run: pods stop claiming after this. */
const RUN_MS = 900;

interface Setup {
  readonly pods: number;
  readonly concurrency: number | undefined;
  readonly rate: { readonly max: number; readonly intervalMs: number } | undefined;
  readonly steps: number;
  /** Per claimed step, what its pod does after holding it a while. */
  readonly outcomes: readonly ('complete' | 'fail' | 'release')[];
  readonly holdMs: readonly number[];
  readonly claimLimit: number;
}

const setupArbitrary: fc.Arbitrary<Setup> = fc
  .record({
    pods: fc.integer({ min: 2, max: 4 }),
    concurrency: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    rate: fc.option(fc.record({ max: fc.integer({ min: 1, max: 4 }), intervalMs: fc.integer({ min: 150, max: 400 }) }), { nil: undefined }),
    steps: fc.integer({ min: 4, max: 10 }),
    outcomes: fc.array(fc.constantFrom('complete', 'complete', 'fail', 'release'), { minLength: 8, maxLength: 8 }),
    holdMs: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 8, maxLength: 8 }),
    claimLimit: fc.integer({ min: 1, max: 3 }),
  })
  .filter((s) => s.concurrency !== undefined || s.rate !== undefined);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pod(store: Store, podId: string, setup: Setup, limits: readonly TypeFlowLimit[], until: number, counter: { n: number }): Promise<void> {
  const running: Promise<void>[] = [];
  while (Date.now() < until) {
    const claimed: ClaimedStepRow[] = await store.stepClaim({ podId, types: [LIMITED, FREE], limit: setup.claimLimit, limits });
    for (const step of claimed) {
      const i = counter.n++ % setup.outcomes.length;
      running.push(
        (async () => {
          await sleep(setup.holdMs[i]!);
          const ref = { stepId: step.stepId, podId, attempt: step.attempt };
          const outcome = setup.outcomes[i]!;
          if (outcome === 'complete') await store.stepComplete({ ...ref, result: null });
          else if (outcome === 'fail') await store.stepFail({ ...ref, error: 'boom', retryable: true, reason: 'error' });
          else await store.stepRelease(ref);
        })(),
      );
    }
    await sleep(claimed.length === 0 ? 5 : 1);
  }
  await Promise.all(running);
}

function flowProperty(factory: StoreFactory) {
  return fc.asyncProperty(setupArbitrary, async (setup) => {
    const opened = await factory.open({ ...POLICY, baseDelayMs: 20, maxDelayMs: 40, maxReleases: 2 });
    try {
      const stores = [opened.store];
      for (let i = 1; i < setup.pods; i++) stores.push(await opened.openPeer());
      for (let i = 0; i < setup.pods; i++) await registerPod(opened.store, PODS[i]!, Date.now() - 1_000);
      // Registered at a fixed time in the past would make them look dead to nothing here (no sweeps run).
      for (let i = 0; i < setup.pods; i++) await opened.store.podHeartbeat({ podId: PODS[i]! });
      const limits: TypeFlowLimit[] = [
        {
          type: LIMITED,
          ...(setup.concurrency === undefined ? {} : { concurrency: setup.concurrency }),
          ...(setup.rate === undefined ? {} : { rateLimit: setup.rate }),
        },
      ];
      const { results } = await opened.store.stepSubmitBatch({
        steps: Array.from({ length: setup.steps * 2 }, (_, i) => ({ type: i % 2 === 0 ? LIMITED : FREE, args: { i }, maxRetries: 5, timeoutMs: 60_000 })),
      });
      const limitedIds = new Set(results.filter((_, i) => i % 2 === 0).map((r) => r.stepId));
      const until = Date.now() + RUN_MS;
      const counter = { n: 0 };
      await Promise.all(stores.map((s, i) => pod(s, PODS[i]!, setup, limits, until, counter)));
      const events = await opened.store.eventList({});
      const limitedClaims = events.filter((e) => e.kind === 'claimed' && limitedIds.has(e.stepId)).length;
      expect(limitedClaims, 'the limited type made progress').toBeGreaterThan(0);
      expect(
        events.some((e) => e.kind === 'claimed' && !limitedIds.has(e.stepId)),
        'the free type was claimed',
      ).toBe(true);
      if (setup.concurrency !== undefined) expect(maxConcurrent(events, limitedIds)).toBeLessThanOrEqual(setup.concurrency);
      if (setup.rate !== undefined) expect(maxStartsInWindow(events, limitedIds, setup.rate.intervalMs)).toBeLessThanOrEqual(setup.rate.max);
    } finally {
      await opened.cleanup();
    }
  });
}

/** The stores this race runs on: the audit trail of each is written in the claim's transaction. */
const RACED = ['sqlite', 'postgres', 'mysql'];

describe('flow limits under racing pods', () => {
  for (const factory of STORE_FACTORIES.filter((f) => RACED.includes(f.name))) {
    it(`${factory.name}: never exceeds a type's concurrency or rate limit`, async (ctx) => {
      const availability = await factory.available();
      if (availability !== true) {
        ctx.skip(`${factory.name} not reachable: ${String(availability)}`);
        return;
      }
      const out = await fc.check(flowProperty(factory), { seed: testSeed(), numRuns: 4, endOnFailure: true });
      if (out.failed) throw new Error(failureReport(`flow limits (${factory.name})`, 'test/property/flow-limits.test.ts', out as fc.RunDetails<unknown>));
    }, 60_000);
  }
});

describe('the trail checks themselves', () => {
  const ev = (stepId: string, kind: StepEvent['kind'], ts: number, eventId: number): StepEvent => ({
    eventId,
    stepId,
    ts,
    kind,
    podId: 'p',
    attempt: 1,
    detail: {},
  });
  it('see two overlapping claims and three starts in one window', () => {
    const ids = new Set(['a', 'b', 'c']);
    const trail = [ev('a', 'claimed', 0, 1), ev('b', 'claimed', 10, 2), ev('a', 'completed', 20, 3), ev('c', 'claimed', 99, 4)];
    expect(maxConcurrent(trail, ids)).toBe(2);
    expect(maxStartsInWindow(trail, ids, 100)).toBe(3);
    expect(maxStartsInWindow(trail, ids, 99)).toBe(2);
  });
});
