/**
 * The step's own actor (src/pod/step-actor.ts) on a real SQLite file: a success heard before any
 * command is completed by the actor itself and reported as one `success.written`; a `step.write` that
 * arrives while that complete is in flight is answered with its outcome, so the attempt is recorded
 * once; a command heard before the work settles leaves every write to the slot. It times the attempt
 * on its actor system's clock (simulated here): `handler.timedOut` when the timeout passes before the
 * work settles, re-armed by `ctx.extend(ms)`, never after the work settled or the actor stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ClaimedStep } from '../../machines/index.js';
import { createMetrics, registerPodMetrics } from '../../src/metrics.js';
import { completionBatcher } from '../../src/pod/completions.js';
import { stepActorLogic } from '../../src/pod/step-actor.js';
import { PodTelemetry } from '../../src/pod/telemetry.js';
import { defineStep, StepRegistry, type StepContext } from '../../src/steps/registry.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { Json, StorePolicy } from '../../src/store/store.js';
import { underParent } from './machines/harness.js';

const POLICY: StorePolicy = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const POD = 'alpha-00000001';

let dir: string;
let store: SqliteStore;
/** Resolves the `gated` handler's pending call with its argument. */
let openGate: (value: unknown) => void = () => undefined;
/** The `gated` handler's context, once it runs. */
let gatedCtx: StepContext | undefined;

const registry = new StepRegistry([
  defineStep({ type: 'echo', args: z.object({ n: z.number() }), handler: (args) => ({ echoed: args.n }) }),
  defineStep({
    type: 'gated',
    args: z.object({}),
    handler: (_args, ctx) => {
      gatedCtx = ctx;
      return new Promise((resolve) => {
        openGate = resolve;
      });
    },
  }),
]);

beforeEach(async () => {
  gatedCtx = undefined;
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-step-actor-'));
  store = await openSqliteStore({ path: join(dir, 'queue.db'), policy: POLICY });
  await store.migrate();
  await store.podRegister({ podId: POD, name: 'alpha', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: 't', host: 'h' } });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Submits and claims one step of `type`, then runs the real step actor for it under a recording parent. */
async function runClaimed(type: string, args: Json, timeoutMs = 60_000) {
  await store.stepSubmit({ type, args, maxRetries: 3, timeoutMs });
  const [row] = await store.stepClaim({ podId: POD, types: [type], limit: 1 });
  const step: ClaimedStep = { stepId: row!.stepId, type, args: row!.args, attempt: row!.attempt, timeoutMs: row!.timeoutMs, idempotencyKey: null };
  const logger = pino({ level: 'silent' });
  const logic = stepActorLogic({
    registry,
    store,
    completions: completionBatcher(store),
    telemetry: new PodTelemetry(logger, registerPodMetrics(createMetrics()), () => POD),
    logger,
  });
  const run = underParent(logic, { podId: POD, step });
  return { ...run, step };
}

/** Waits until the parent heard `count` facts from the step's actor. */
async function factsAfter(run: { facts(): { type: string }[] }, count: number) {
  for (let i = 0; i < 500 && run.facts().length < count; i++) await new Promise((resolve) => setTimeout(resolve, 2));
  return run.facts();
}

/** Lets the handler's settlement reach the actor (promise hops only; the batcher writes on a later macrotask). */
async function microtasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('step actor', () => {
  it('completes a success heard before any command itself and reports one success.written', async () => {
    const run = await runClaimed('echo', { n: 7 });
    expect(await factsAfter(run, 1)).toEqual([{ type: 'success.written', outcome: 'completed' }]);
    const row = await store.stepGet({ stepId: run.step.stepId });
    expect(row).toMatchObject({ status: 'completed', result: { echoed: 7 } });
    const kinds = (await store.eventList({ stepId: run.step.stepId })).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'claimed', 'completed']);
    expect(run.errors).toEqual([]);
  });

  it('answers a step.write that arrives during its own complete with that outcome, after the settlement', async () => {
    const run = await runClaimed('gated', {});
    openGate('done');
    await microtasks();
    // The drain's grace ended just as the handler settled: the slot asks for a release.
    run.child.send({ type: 'handler.abort', reason: 'drain' });
    run.child.send({ type: 'step.write', report: { kind: 'release' } });
    expect(await factsAfter(run, 2)).toEqual([
      { type: 'handler.succeeded', result: 'done' },
      { type: 'write.done', outcome: 'completed' },
    ]);
    expect(await store.stepGet({ stepId: run.step.stepId })).toMatchObject({ status: 'completed', attempt: 1, retryCount: 0 });
    const kinds = (await store.eventList({ stepId: run.step.stepId })).map((e) => e.kind);
    expect(kinds).toEqual(['submitted', 'claimed', 'completed']);
  });

  it('leaves the write to the slot when a command came before the work settled', async () => {
    const run = await runClaimed('gated', {});
    run.child.send({ type: 'handler.abort', reason: 'timeout' });
    run.child.send({ type: 'step.write', report: { kind: 'fail', error: 'step timed out after 60000 ms', retryable: true, reason: 'timeout' } });
    expect(await factsAfter(run, 1)).toEqual([{ type: 'write.done', outcome: 'retried' }]);
    openGate('late');
    expect(await factsAfter(run, 2)).toEqual([
      { type: 'write.done', outcome: 'retried' },
      { type: 'handler.succeeded', result: 'late' },
    ]);
    expect(await store.stepGet({ stepId: run.step.stepId })).toMatchObject({ status: 'pending', retryCount: 1 });
  });

  describe('timeout', () => {
    /** Timers pending on the simulated clock (the actor's timeout is the only one here). */
    const pendingTimers = (run: { clock: object }) => (run.clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts.size;
    /** Lets the handler start, so that its ctx is there to extend. */
    async function started(): Promise<StepContext> {
      await microtasks();
      if (gatedCtx === undefined) throw new Error('the gated handler has not started');
      return gatedCtx;
    }

    it('sends handler.timedOut once when the clock reaches the step timeout, not a millisecond before', async () => {
      const run = await runClaimed('gated', {}, 5_000);
      await started();
      run.clock.increment(4_999);
      await microtasks();
      expect(run.facts()).toEqual([]);
      run.clock.increment(1);
      const timedOut = { type: 'handler.timedOut', ms: 5_000, extended: false };
      expect(run.facts()).toEqual([timedOut]);
      run.clock.increment(60_000);
      // From the timeout on the slot decides every write: a late success is told, not completed.
      openGate('late');
      expect(await factsAfter(run, 2)).toEqual([timedOut, { type: 'handler.succeeded', result: 'late' }]);
      expect(await store.stepGet({ stepId: run.step.stepId })).toMatchObject({ status: 'claimed' });
      expect(run.errors).toEqual([]);
    });

    it('ctx.extend(ms) re-arms it to end ms from the call, as often as the handler asks; after the timeout it changes nothing', async () => {
      const run = await runClaimed('gated', {}, 5_000);
      const ctx = await started();
      run.clock.increment(4_000);
      ctx.extend(3_000); // now ends at 7,000 instead of 5,000
      run.clock.increment(2_999);
      expect(run.facts()).toEqual([]);
      ctx.extend(10_000); // now ends at 16,999
      run.clock.increment(9_999);
      expect(run.facts()).toEqual([]);
      run.clock.increment(1);
      const timedOut = { type: 'handler.timedOut', ms: 10_000, extended: true };
      expect(run.facts()).toEqual([timedOut]);
      ctx.extend(60_000); // too late
      expect(pendingTimers(run)).toBe(0);
      run.clock.increment(120_000);
      expect(run.facts()).toEqual([timedOut]);
      expect(() => ctx.extend(0)).toThrow(/ctx\.extend\(ms\) needs an integer/);
    });

    it('a handler that settles before its timeout never times out, even when the clock passes the deadline', async () => {
      const run = await runClaimed('gated', {}, 5_000);
      const ctx = await started();
      run.clock.increment(4_999);
      openGate('in time');
      expect(await factsAfter(run, 1)).toEqual([{ type: 'success.written', outcome: 'completed' }]);
      ctx.extend(1_000); // after the work settled: changes nothing
      expect(pendingTimers(run)).toBe(0);
      run.clock.increment(60_000);
      await microtasks();
      expect(run.facts()).toEqual([{ type: 'success.written', outcome: 'completed' }]);
      expect(await store.stepGet({ stepId: run.step.stepId })).toMatchObject({ status: 'completed', result: 'in time' });
    });

    it('an abort from the slot or stopping the actor clears the timer', async () => {
      const aborted = await runClaimed('gated', {}, 5_000);
      await started();
      aborted.child.send({ type: 'handler.abort', reason: 'drain' });
      expect(pendingTimers(aborted)).toBe(0);
      aborted.clock.increment(60_000);
      expect(aborted.facts()).toEqual([]);

      const stopped = await runClaimed('gated', {}, 5_000);
      await started();
      stopped.clock.increment(4_000);
      expect(pendingTimers(stopped)).toBe(1);
      stopped.stopChild();
      expect(stopped.actor.getSnapshot().children['child']).toBeUndefined();
      expect(pendingTimers(stopped)).toBe(0);
      stopped.clock.increment(60_000);
      expect(stopped.facts()).toEqual([]);
      expect(stopped.errors).toEqual([]);
    });
  });
});
