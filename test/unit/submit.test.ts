import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/errors.js';
import { defineStep, StepRegistry } from '../../src/steps/registry.js';
import { withBuiltinSteps } from '../../src/steps/load.js';
import { prepareBatch, prepareSubmission } from '../../src/steps/submission.js';

const registry = new StepRegistry(
  withBuiltinSteps([defineStep({ type: 'email.send', args: z.object({ to: z.email() }), handler: () => null, maxRetries: 7, timeoutMs: 5000 })]),
);
const defaults = { defaultMaxRetries: 3, defaultStepTimeoutMs: 900_000 };

function problemsOf(fn: () => unknown): { loc: string; msg: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return [...((err as ValidationError).errors ?? [])];
  }
  throw new Error('expected a ValidationError');
}

describe('prepareSubmission', () => {
  it('resolves max_retries and timeout_ms: submit > defineStep > configuration', () => {
    expect(prepareSubmission(registry, defaults, { type: 'echo', args: { a: 1 } })).toMatchObject({ maxRetries: 3, timeoutMs: 900_000, priority: 0 });
    expect(prepareSubmission(registry, defaults, { type: 'email.send', args: { to: 'a@b.co' } })).toMatchObject({ maxRetries: 7, timeoutMs: 5000 });
    expect(prepareSubmission(registry, defaults, { type: 'email.send', args: { to: 'a@b.co' }, max_retries: 0, timeout_ms: 10 })).toMatchObject({
      maxRetries: 0,
      timeoutMs: 10,
    });
  });

  it('reads an optional field sent as null as not sent', () => {
    const params = prepareSubmission(registry, defaults, {
      type: 'email.send',
      args: { to: 'a@b.co' },
      metadata: null,
      priority: null,
      max_retries: null,
      timeout_ms: null,
      idempotency_key: null,
      delay_ms: null,
    });
    expect(params).toMatchObject({ metadata: {}, priority: 0, maxRetries: 7, timeoutMs: 5000, idempotencyKey: null, delayMs: 0 });
    expect(problemsOf(() => prepareSubmission(registry, defaults, { type: null, args: {} })).map((p) => p.loc)).toEqual(['type']);
  });

  it('refuses an unknown type, naming the registered ones', () => {
    const problems = problemsOf(() => prepareSubmission(registry, defaults, { type: 'nope', args: {} }));
    expect(problems).toEqual([{ loc: 'type', msg: expect.stringContaining('echo, email.send, fail, sleep') }]);
  });

  it('refuses args failing the type schema, field by field', () => {
    const problems = problemsOf(() => prepareSubmission(registry, defaults, { type: 'email.send', args: { to: 'not-an-email' } }));
    expect(problems.map((p) => p.loc)).toEqual(['args.to']);
    expect(problemsOf(() => prepareSubmission(registry, defaults, { type: 'sleep', args: { ms: -1 } })).map((p) => p.loc)).toEqual(['args.ms']);
  });

  it('lists every bad field at once and refuses unknown fields', () => {
    const problems = problemsOf(() => prepareSubmission(registry, defaults, { type: 'echo', priority: 1.5, max_retries: 26, bogus: 1 }));
    expect(problems.map((p) => p.loc).sort()).toEqual(['bogus', 'max_retries', 'priority']);
  });

  it('refuses args + metadata over 64 KiB', () => {
    const problems = problemsOf(() => prepareSubmission(registry, defaults, { type: 'echo', args: 'x'.repeat(40_000), metadata: { m: 'y'.repeat(30_000) } }));
    expect(problems[0]?.msg).toMatch(/limit is 65536/);
  });
});

describe('prepareBatch', () => {
  it('names failing items by index, including keys repeated within the batch', () => {
    const problems = problemsOf(() =>
      prepareBatch(registry, defaults, {
        steps: [
          { type: 'echo', args: {}, idempotency_key: 'k' },
          { type: 'sleep', args: {} },
          { type: 'echo', args: {}, idempotency_key: 'k' },
          { type: 'sleep', args: { ms: 1 }, idempotency_key: 'k' },
        ],
      }),
    );
    expect(problems.map((p) => p.loc)).toEqual(['steps.1.args.ms', 'steps.2.idempotency_key']);
  });

  it('accepts a valid batch in order and refuses empty or oversized ones', () => {
    const out = prepareBatch(registry, defaults, {
      steps: [
        { type: 'echo', args: 1 },
        { type: 'sleep', args: { ms: 5 } },
      ],
    });
    expect(out.map((s) => s.type)).toEqual(['echo', 'sleep']);
    expect(problemsOf(() => prepareBatch(registry, defaults, { steps: [] }))[0]?.loc).toBe('steps');
    expect(problemsOf(() => prepareBatch(registry, defaults, { steps: Array(10_001).fill({ type: 'echo' }) }))[0]?.loc).toBe('steps');
  });
});

describe('step definitions', () => {
  it('refuses a bad type name, duplicate types and non-definitions', () => {
    expect(() => defineStep({ type: 'Bad Name', args: z.object({}), handler: () => null })).toThrow(/invalid step definition/);
    expect(() => withBuiltinSteps([defineStep({ type: 'echo', args: z.object({}), handler: () => null })])).toThrow(/defined twice/);
    expect(() => withBuiltinSteps([{} as never])).toThrow(/not a defineStep/);
  });
});
