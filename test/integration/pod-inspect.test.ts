/**
 * FLEET_Q_INSPECT: a pod streams its actor system to a Stately WebSocket inspector. A local WebSocket
 * server plays the inspector; a step with a custom lifecycle runs on a real pod (SQLite file), and its
 * step actor and lifecycle actor must appear, transition and stop in the stream. Also: a bad
 * FLEET_Q_INSPECT is a configuration error naming the variable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { createPod, type Pod } from '../../src/pod/pod.js';
import { openStore } from '../../src/store/open.js';
import { paymentStep } from '../../visualizations/payment-lifecycle.js';
import { waitFor } from '../support/wait.js';
import { FAST_TIMINGS } from './pod-harness.js';

interface Message {
  type: string;
  sessionId: string;
  name?: string;
  parentId?: string;
  definition?: string;
  snapshot?: { value?: unknown; status?: string };
  event?: { type: string };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a step actor and its lifecycle appear, transition and stop in the inspection stream', async () => {
  const messages: Message[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (socket) => socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Message)));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;

  const dir = mkdtempSync(join(tmpdir(), 'fleet-q-inspect-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({}, { ...FAST_TIMINGS, sqliteDbPath: join(dir, 'q.db'), logLevel: 'silent', inspect: `ws://127.0.0.1:${port}` });
  const pod: Pod = createPod({ config, steps: [paymentStep('correct')] });
  cleanups.push(() => pod.stop());
  await pod.start();
  const store = await openStore(config);
  cleanups.push(() => store.close());
  const { stepId } = await store.stepSubmit({ type: 'payment.charge', args: { amount: 7 }, maxRetries: 2, timeoutMs: 5_000 });
  await waitFor('the step to complete', async () => (await store.stepGet({ stepId }))?.status === 'completed', 20_000);

  // The step's actor: created under a slot (whose busy state is the step's statechart), which moves
  // through that statechart while the actor runs; the actor is stopped when the slot is idle again.
  const slots = new Set(
    messages.filter((m) => m.type === '@xstate.actor' && m.definition !== undefined && JSON.parse(m.definition).id === 'slot').map((m) => m.sessionId),
  );
  const isStepActor = (m: Message) => m.type === '@xstate.actor' && m.name === 'step' && slots.has(m.parentId ?? '');
  await waitFor('a step actor in the stream', () => messages.some(isStepActor), 10_000);
  const stepActor = messages.find(isStepActor)!;
  await waitFor(
    'the step actor to stop',
    () => messages.some((m) => m.sessionId === stepActor.sessionId && m.type === '@xstate.snapshot' && m.snapshot?.status === 'stopped'),
    10_000,
  );
  const slotSnapshots = () =>
    messages.filter((m) => m.sessionId === stepActor.parentId && m.type === '@xstate.snapshot').map((m) => JSON.stringify(m.snapshot?.value));
  // The child's stop and the slot's own next snapshot are separate messages: wait for the slot's.
  await waitFor('the slot idle again', () => slotSnapshots().at(-1) === JSON.stringify('idle'), 10_000);
  const slotValues = slotSnapshots();
  // A success the step's actor completed itself: executing → idle on its one success.written.
  expect(slotValues).toEqual(expect.arrayContaining([JSON.stringify({ busy: 'executing' })]));
  expect(slotValues).not.toContain(JSON.stringify({ busy: 'reporting' }));
  expect(slotValues.at(-1)).toBe(JSON.stringify('idle'));

  // The custom lifecycle actor runs inside the step's actor, in the same system.
  const lifecycle = messages.find((m) => m.type === '@xstate.actor' && m.definition !== undefined && JSON.parse(m.definition).id === 'payment');
  expect(lifecycle).toBeDefined();
  expect(lifecycle!.parentId).toBe(stepActor.sessionId);
  const lifecycleValues = messages.filter((m) => m.sessionId === lifecycle!.sessionId && m.type === '@xstate.snapshot').map((m) => m.snapshot?.value);
  expect(lifecycleValues).toEqual(expect.arrayContaining(['confirming', 'confirmed']));
  expect(messages.filter((m) => m.sessionId === lifecycle!.sessionId).at(-1)?.snapshot?.status).toBe('done');
}, 60_000);

it('FLEET_Q_INSPECT must be a WebSocket URL', () => {
  expect(() => loadConfig({ FLEET_Q_INSPECT: 'http://localhost:8080' })).toThrow(ConfigError);
  try {
    loadConfig({ FLEET_Q_INSPECT: 'localhost:8080', FLEET_Q_MAX_PARALLELISM: 'x' });
  } catch (err) {
    expect((err as ConfigError).message).toMatch(/FLEET_Q_INSPECT: must be a WebSocket URL/);
    expect((err as ConfigError).message).toMatch(/FLEET_Q_MAX_PARALLELISM/);
  }
  expect(loadConfig({ FLEET_Q_INSPECT: 'ws://127.0.0.1:8090' }).inspect).toBe('ws://127.0.0.1:8090');
});
