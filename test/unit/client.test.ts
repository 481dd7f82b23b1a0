/**
 * `createClient` on a real SQLite file: configuration (overrides, a loaded config, every problem at
 * once), FLEET_Q_HANDLERS types validated at submit, and answers equal to the HTTP bodies of the same
 * state (the API built over a second store on the same file).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, type FleetClient } from '../../src/client.js';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError, ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import { buildApp } from '../../src/http/app.js';
import { StepRegistry } from '../../src/steps/registry.js';
import { loadHandlerModule, withBuiltinSteps } from '../../src/steps/load.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/producer-steps.mjs', import.meta.url));
const META = { max_parallelism: 4, capacity: 3, in_flight: 0, version: 'test', host: 'h' };

let dir: string;
let dbPath: string;
let client: FleetClient | undefined;
let peer: SqliteStore | undefined;
let app: FastifyInstance | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-client-'));
  dbPath = join(dir, 'queue.db');
});
afterEach(async () => {
  await client?.close();
  await app?.close();
  await peer?.close();
  client = peer = app = undefined;
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<FleetClient> {
  client = await createClient({ sqliteDbPath: dbPath, handlers: HANDLERS, storageMode: 'sqlite' });
  return client;
}

/** A second store on the same file (as another process would open it) and the API over it. */
async function openPeerApi(): Promise<{ store: SqliteStore; app: FastifyInstance }> {
  const config = loadConfig({}, { sqliteDbPath: dbPath });
  peer = await openSqliteStore({ path: dbPath, policy: { baseDelayMs: 1000, maxDelayMs: 8000, deadPodThresholdMs: 60_000, maxReleases: 3 } });
  const registry = new StepRegistry(withBuiltinSteps(await loadHandlerModule(HANDLERS)));
  app = await buildApp({ store: peer, registry, defaults: config });
  return { store: peer, app };
}

describe('createClient: configuration', () => {
  it('applies overrides on top of the environment and creates the database', async () => {
    await open();
    expect(existsSync(dbPath)).toBe(true);
  });

  it('uses a loaded FleetConfig as is, whatever the environment says', async () => {
    vi.stubEnv('FLEET_Q_SQLITE_DB_PATH', join(dir, 'from-env.db'));
    client = await createClient(loadConfig({ FLEET_Q_SQLITE_DB_PATH: dbPath }));
    await client.submit({ type: 'echo', args: {} });
    expect(existsSync(dbPath)).toBe(true);
    expect(existsSync(join(dir, 'from-env.db'))).toBe(false);
  });

  it('reports every configuration problem at once and opens nothing', async () => {
    const err = await createClient({ sqliteDbPath: dbPath, maxParallelism: 0, defaultMaxRetries: 99 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).errors?.map((e) => e.loc).sort()).toEqual(['FLEET_Q_DEFAULT_MAX_RETRIES', 'FLEET_Q_MAX_PARALLELISM']);
    expect(existsSync(dbPath)).toBe(false);
  });

  it('refuses a handlers module that cannot be loaded before opening the store', async () => {
    const err = await createClient({ sqliteDbPath: dbPath, handlers: join(dir, 'missing.mjs') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).errors?.[0]?.loc).toBe('FLEET_Q_HANDLERS');
    expect(existsSync(dbPath)).toBe(false);
  });
});

describe('createClient: submitting', () => {
  it('validates args against FLEET_Q_HANDLERS types and writes nothing when refused', async () => {
    const c = await open();
    const err = await c.submit({ type: 'invoice.send', args: { invoice: -1, email: 'nope' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors?.map((e) => e.loc).sort()).toEqual(['args.email', 'args.invoice']);
    expect((await c.queue()).pending_steps).toBe(0);

    const ok = await c.submit({ type: 'invoice.send', args: { invoice: 7, email: 'a@b.co' } });
    expect(ok).toEqual({ step_id: expect.stringMatching(/^step_/), status: 'submitted', message: expect.any(String) });
    expect((await c.status(ok.step_id)).max_retries).toBe(6);
  });

  it('answers duplicate for a repeated key with identical args and throws ConflictError for different args', async () => {
    const c = await open();
    const first = await c.submit({ type: 'echo', args: { n: 1 }, idempotency_key: 'k' });
    expect(await c.submit({ type: 'echo', args: { n: 1 }, idempotency_key: 'k' })).toMatchObject({ step_id: first.step_id, status: 'duplicate' });
    await expect(c.submit({ type: 'echo', args: { n: 2 }, idempotency_key: 'k' })).rejects.toBeInstanceOf(ConflictError);
    expect((await c.queue()).pending_steps).toBe(1);
  });

  it('submits a batch all or none, ids in order', async () => {
    const c = await open();
    const { step_ids } = await c.submitBatch([
      { type: 'echo', args: { i: 0 } },
      { type: 'invoice.send', args: { invoice: 1, email: 'a@b.co' } },
    ]);
    expect(step_ids).toHaveLength(2);
    expect((await c.status(step_ids[1]!)).payload.type).toBe('invoice.send');
    const err = await c
      .submitBatch([
        { type: 'echo', args: {} },
        { type: 'invoice.send', args: {} },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors?.every((e) => e.loc.startsWith('steps.1.'))).toBe(true);
    expect((await c.queue()).pending_steps).toBe(2);
  });
});

describe('createClient: reading and replaying', () => {
  it('answers exactly the HTTP bodies for status, history, queue and dlq', async () => {
    const c = await open();
    const { store, app: api } = await openPeerApi();
    const done = await c.submit({ type: 'echo', args: { a: 1 }, priority: 3 });
    await c.submit({ type: 'sleep', args: { ms: 5 } });
    await store.podRegister({ podId: 'p-1', name: 'p', meta: META });
    const [claimed] = await store.stepClaim({ podId: 'p-1', types: ['echo'], limit: 1 });
    await store.stepComplete({ stepId: claimed!.stepId, podId: 'p-1', attempt: 1, result: { ok: true } });

    const http = async (url: string) => (await api.inject({ method: 'GET', url })).json();
    expect(await c.status(done.step_id)).toEqual(await http(`/status/${done.step_id}`));
    expect(await c.status(done.step_id, { history: true })).toEqual(await http(`/status/${done.step_id}?history=true`));
    expect((await c.status(done.step_id)).result).toEqual({ ok: true });
    expect(await c.queue()).toEqual(await http('/admin/queue'));
    expect(await c.dlq()).toEqual(await http('/admin/dlq'));
  });

  it('replays a dead-lettered step; NotFoundError and ConflictError otherwise', async () => {
    const c = await open();
    const { store } = await openPeerApi();
    const { step_id } = await c.submit({ type: 'echo', args: {}, max_retries: 0 });
    await store.podRegister({ podId: 'p-1', name: 'p', meta: META });
    await store.stepClaim({ podId: 'p-1', types: ['echo'], limit: 1 });
    await store.stepFail({ stepId: step_id, podId: 'p-1', attempt: 1, error: 'bad', retryable: true, reason: 'error' });

    const dlq = await c.dlq({ limit: 10 });
    expect(dlq).toEqual({ total: 1, steps: [{ step_id, type: 'echo', retry_count: 0, last_error: 'bad', last_update_ts: expect.any(String) }] });
    expect(await c.replay(step_id)).toEqual({ step_id, status: 'pending' });
    await expect(c.replay(step_id)).rejects.toBeInstanceOf(ConflictError);
    await expect(c.replay('step_NOPE')).rejects.toBeInstanceOf(NotFoundError);
    await expect(c.status('step_NOPE')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a DLQ page outside limit 1-500', async () => {
    const c = await open();
    await expect(c.dlq({ limit: 501 })).rejects.toBeInstanceOf(ValidationError);
    await expect(c.dlq({ offset: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(await c.dlq({ limit: 500 })).toEqual({ total: 0, steps: [] });
  });

  it('closes idempotently and refuses calls afterwards', async () => {
    const c = await open();
    await c.close();
    await c.close();
    await expect(c.queue()).rejects.toThrow(/closed/);
  });
});

describe('createClient: step types it validates against', () => {
  it('knows types passed as options.steps and types defineStep declared in this process', async () => {
    const { defineStep } = await import('../../src/steps/registry.js');
    const { z } = await import('zod');
    const declared = defineStep({ type: 'client.declared', args: z.object({ n: z.number() }), handler: () => null });
    const passed = { ...declared, type: 'client.passed' };
    client = await createClient({ sqliteDbPath: dbPath, storageMode: 'sqlite' }, { steps: [passed] });
    expect((await client.submit({ type: 'client.declared', args: { n: 1 } })).status).toBe('submitted');
    expect((await client.submit({ type: 'client.passed', args: { n: 2 } })).status).toBe('submitted');
    await expect(client.submit({ type: 'client.declared', args: { n: 'x' } })).rejects.toMatchObject({
      code: 'validation_error',
      errors: [{ loc: 'args.n', msg: expect.any(String) }],
    });
    await expect(client.submit({ type: 'client.never-declared', args: {} })).rejects.toBeInstanceOf(ValidationError);
    expect((await client.queue()).pending_steps).toBe(2);
  });
});

describe('createClient: the options of createPod', () => {
  it('takes { config, steps }, the object createPod takes, and checks submits against those steps', async () => {
    const { defineStep } = await import('../../src/steps/registry.js');
    const { createPod } = await import('../../src/pod/pod.js');
    const { z } = await import('zod');
    const step = { ...defineStep({ type: 'client.shared', args: z.object({ n: z.number() }), handler: (args) => args }), type: 'client.shared-options' };
    const options = { config: { sqliteDbPath: dbPath, storageMode: 'sqlite' as const, logLevel: 'silent' as const }, steps: [step] };
    client = await createClient(options);
    const { step_id } = await client.submit({ type: 'client.shared-options', args: { n: 3 } });
    await expect(client.submit({ type: 'client.shared-options', args: { n: 'x' } })).rejects.toBeInstanceOf(ValidationError);
    const pod = createPod({ ...options, config: { ...options.config, apiPort: 0, claimIntervalSeconds: 0.1 } });
    await pod.start();
    try {
      const deadline = Date.now() + 20_000;
      while ((await client.status(step_id)).status !== 'completed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect((await client.status(step_id)).result).toEqual({ n: 3 });
    } finally {
      await pod.stop();
    }
  });

  it('still takes the earlier form, a configuration then { steps }', async () => {
    client = await createClient({ sqliteDbPath: dbPath, storageMode: 'sqlite' });
    expect((await client.submit({ type: 'echo', args: {} })).status).toBe('submitted');
  });
});
