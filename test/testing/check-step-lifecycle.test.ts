/**
 * `checkStepLifecycle` on known-good and known-broken step types: the built-in steps and a correct
 * custom lifecycle pass; a lifecycle that completes after its abort fails on L3, one that dead-letters
 * before its retries are spent fails on L4, each with the seed, a shrunk schedule and the audit trail.
 */
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineStep } from '../../src/index.js';
import { echoStep, failStep } from '../../src/steps/builtin.js';
import { checkStepLifecycle, createEffectLog, LifecycleCheckError } from '../../src/testing/index.js';
import { paymentStep } from '../../visualizations/payment-lifecycle.js';

const seed = Number(process.env.FLEET_Q_TEST_SEED ?? 20_261_206);

it('the built-in echo and fail steps and a correct custom lifecycle pass', async () => {
  await expect(checkStepLifecycle(echoStep, { numRuns: 10, seed, args: [{ n: 1 }] })).resolves.toMatchObject({ type: 'echo', numRuns: 10 });
  await expect(checkStepLifecycle(failStep, { numRuns: 8, seed, args: [{ times: 1 }, {}] })).resolves.toMatchObject({ type: 'fail', numRuns: 8 });
  const report = await checkStepLifecycle(paymentStep('correct'), { numRuns: 15, seed, args: [{ amount: 5 }, { amount: -1 }] });
  expect(report.reachability?.reached).toEqual(
    expect.arrayContaining(['validating', 'callingOut', 'confirming', 'confirmed', 'failed', 'given_up', 'aborted']),
  );
}, 120_000);

it('a lifecycle that reports completion after its abort fails on L3 with a shrunk counterexample', async () => {
  const err = await checkStepLifecycle(paymentStep('completes_after_abort'), { numRuns: 30, seed, args: [{ amount: 5 }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LifecycleCheckError);
  const e = err as LifecycleCheckError;
  expect(e.message).toMatch(/broke rule L3: .*completed after its abort/);
  expect(e.message).toContain(`seed: ${seed}`);
  expect(e.counterexample).not.toBe('');
}, 120_000);

it('a lifecycle that dead-letters before its retries are spent fails on L4, with the audit trail', async () => {
  const err = await checkStepLifecycle(paymentStep('early_dead_letter'), { numRuns: 30, seed, args: [{ amount: 5 }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LifecycleCheckError);
  const e = err as LifecycleCheckError;
  expect(e.message).toMatch(/broke rule L4: .*dead-lettered with a retryable error/);
  expect(e.message).toContain('audit trail of the failing run');
}, 120_000);

it('the effect log catches a handler whose effect is not keyed by the idempotency key', async () => {
  const effects = createEffectLog();
  // Not idempotent: a handler that runs again (its pod died, then finished late) sends the mail twice.
  const sloppy = defineStep({
    type: 'sloppy.effect',
    args: z.object({}),
    handler: async (_args, ctx) => void effects.record(ctx.idempotencyKey, 'mail', ctx.attempt),
  });
  const err = await checkStepLifecycle(sloppy, { numRuns: 100, seed, effects }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LifecycleCheckError);
  expect((err as Error).message).toMatch(/effect log: mail applied 2 times/);
  const keyed = defineStep({
    type: 'keyed.effect',
    args: z.object({}),
    handler: async (_args, ctx) => void effects.applyOnce(ctx.idempotencyKey, 'mail', ctx.attempt),
  });
  await checkStepLifecycle(keyed, { numRuns: 50, seed, effects });
}, 120_000);
