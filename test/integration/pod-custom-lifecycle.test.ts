/**
 * A pod runs a step type with a custom lifecycle end to end over the HTTP API: submit, claim, the
 * lifecycle (validate → call out → wait for confirmation), the fenced write; its audit trail has the
 * same events as a built-in step's with the same fate: completed at once, retried then completed,
 * dead-lettered for a non-retryable error, and a lifecycle that breaks the contract (an answer
 * outside it) is a retryable failure, never a success. Real pod, real SQLite file, real HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setup } from 'xstate';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { createPod, type Pod } from '../../src/pod/pod.js';
import { defineStep } from '../../src/steps/registry.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { paymentLifecycle } from '../../visualizations/payment-lifecycle.js';
import { waitFor } from '../support/wait.js';
import { FAST_TIMINGS } from './pod-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'fleet-q-lifecycle-'));
let pod: Pod;
let store: Store;
let close: () => Promise<void>;
let base: string;

const payment = defineStep({
  type: 'payment.http',
  args: z.object({ amount: z.number() }),
  maxRetries: 2,
  lifecycle: paymentLifecycle('correct'),
  handler: async (args, ctx) => {
    if (args.amount === 13 && ctx.attempt === 1) throw new Error('gateway timeout');
    return { charged: args.amount };
  },
});
const broken = defineStep({
  type: 'lifecycle.broken',
  args: z.object({}),
  maxRetries: 1,
  // Ends at once with an output outside the contract.
  lifecycle: setup({}).createMachine({ id: 'broken', initial: 'done', states: { done: { type: 'final' } }, output: () => ({ outcome: 'success' }) }),
  handler: async () => 'never called',
});

beforeAll(async () => {
  const config = loadConfig({}, { ...FAST_TIMINGS, sqliteDbPath: join(dir, 'q.db'), logLevel: 'silent', apiPort: 0 });
  store = await openStore(config);
  pod = createPod({ config, store, steps: [payment, broken] });
  await pod.start();
  const app = await buildApp({ store, registry: pod.registry!, defaults: config, pod });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  close = async () => {
    await app.close();
    await pod.stop();
    await store.close();
  };
});
afterAll(async () => {
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(body: object): Promise<string> {
  const res = await fetch(`${base}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { step_id: string }).step_id;
}

interface Status {
  status: string;
  result: unknown;
  last_error: string | null;
  retry_count: number;
  history: { kind: string; detail: Record<string, unknown> }[];
}

async function settled(stepId: string): Promise<Status> {
  return waitFor(
    `step ${stepId} to end`,
    async () => {
      const s = (await (await fetch(`${base}/status/${stepId}?history=true`)).json()) as Status;
      return s.status === 'completed' || s.status === 'failed' ? s : undefined;
    },
    20_000,
  );
}

const kinds = (s: Status) => s.history.map((e) => e.kind);

it('completes, with the trail of a built-in step that completes', async () => {
  const [custom, echo] = await Promise.all([
    settled(await submit({ type: 'payment.http', args: { amount: 5 } })),
    settled(await submit({ type: 'echo', args: { amount: 5 } })),
  ]);
  expect(custom).toMatchObject({ status: 'completed', result: { charged: 5 } });
  expect(kinds(custom)).toEqual(['submitted', 'claimed', 'completed']);
  expect(kinds(custom)).toEqual(kinds(echo));
});

it('a failed call-out is retried, like a built-in step that fails once', async () => {
  const [custom, builtin] = await Promise.all([
    settled(await submit({ type: 'payment.http', args: { amount: 13 } })),
    settled(await submit({ type: 'fail', args: { times: 1 } })),
  ]);
  expect(custom).toMatchObject({ status: 'completed', retry_count: 1, result: { charged: 13 } });
  expect(kinds(custom)).toEqual(['submitted', 'claimed', 'retried', 'claimed', 'completed']);
  expect(kinds(custom)).toEqual(kinds(builtin));
  expect(custom.history[2]!.detail).toMatchObject({ reason: 'error', error: 'gateway timeout' });
});

it('a validation failure dead-letters at once (non-retryable)', async () => {
  const custom = await settled(await submit({ type: 'payment.http', args: { amount: -1 } }));
  expect(custom).toMatchObject({ status: 'failed', retry_count: 0, last_error: 'invalid amount -1' });
  expect(kinds(custom)).toEqual(['submitted', 'claimed', 'dead_lettered']);
  expect(custom.history[2]!.detail).toMatchObject({ reason: 'non_retryable' });
});

it('an output outside the contract is a retryable failure, never a success', async () => {
  const s = await settled(await submit({ type: 'lifecycle.broken', args: {} }));
  expect(s.status).toBe('failed');
  expect(kinds(s)).toEqual(['submitted', 'claimed', 'retried', 'claimed', 'dead_lettered']);
  expect(s.last_error).toMatch(/lifecycle contract broken: output must be/);
});
