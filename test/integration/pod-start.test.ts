/**
 * `fleet-q start` in-process (runPodCommand): the redacted configuration is logged, /health answers
 * at once, submits run, SIGTERM drains (503 draining meanwhile, submits still accepted) and resolves
 * exit code 0, and a second signal forces exit 1. Signals come from an EventEmitter handed in, so the
 * test process itself is never signalled.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { runPodCommand } from '../../src/pod/start.js';
import { freePort } from '../support/embedded-postgres.js';
import { freshSchema, requireTestDatabaseUrl } from '../support/postgres.js';
import { PodWorld } from './pod-harness.js';
import { waitFor } from '../support/wait.js';

let world: PodWorld;
afterEach(async () => {
  await world.close();
});

interface Running {
  readonly signals: EventEmitter;
  readonly exits: number[];
  readonly lines: Record<string, unknown>[];
  readonly result: Promise<number>;
  readonly address: Promise<string>;
}

function runPod(overrides: Parameters<PodWorld['config']>[0] = {}): Running {
  const config = world.config({ podId: 'cmd', apiPort: 0, databaseUrl: 'postgres://fleet:s3cret@db.example:5432/q', ...overrides });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const signals = new EventEmitter();
  const exits: number[] = [];
  let onListening: (address: string) => void = () => undefined;
  const address = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const result = runPodCommand(config, { signals, exit: (code) => void exits.push(code), onListening, logger: createLogger(config, {}, sink) });
  return { signals, exits, lines, result, address };
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

/** The API listens before the pod has registered: wait for its /health 200. */
async function healthy(base: string): Promise<Response> {
  return waitFor(
    `${base}/health to answer 200`,
    async () => {
      const res = await fetch(`${base}/health`);
      return res.status === 200 ? res : undefined;
    },
    30_000,
  );
}

describe('runPodCommand', () => {
  it('serves /health at once, runs submitted steps, and drains on SIGTERM to exit code 0', async () => {
    world = new PodWorld();
    const startedAt = Date.now();
    const pod = runPod({ shutdownGraceSeconds: 0.5 });
    const base = await pod.address;
    expect([200, 503]).toContain((await fetch(`${base}/health`)).status);
    const health = await healthy(base);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(await json(health)).toMatchObject({ pod_id: expect.stringMatching(/^cmd-[0-9a-f]{8}$/), status: 'healthy', max_capacity: 2 });

    const config = pod.lines.find((l) => l['msg'] === 'starting FLEET-Q pod')?.['config'] as Record<string, unknown>;
    expect(config['FLEET_Q_POD_ID']).toBe('cmd');
    expect(config['FLEET_Q_DATABASE_URL']).toBe('postgres://fleet:***@db.example:5432/q');
    expect(pod.lines.some((l) => l['msg'] === 'HTTP API listening' && l['address'] === base)).toBe(true);

    const submit = (body: unknown) => fetch(`${base}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const echoed = await json(await submit({ type: 'echo', args: { hello: 'world' } }));
    await waitFor('echo completed', async () => (await json(await fetch(`${base}/status/${String(echoed['step_id'])}`)))['status'] === 'completed');
    expect(await json(await fetch(`${base}/status/${String(echoed['step_id'])}`))).toMatchObject({ result: { hello: 'world' }, attempt: 1 });

    // The pod's counters share the API's registry, labelled with the log's event names.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^fleet_q_step_outcomes_total\{outcome="completed"\} 1$/m);
    expect(metrics).toMatch(/^fleet_q_pod_events_total\{event="pod.registered"\} 1$/m);
    expect(metrics).toMatch(/^fleet_q_steps_claimed_total 1$/m);

    // A step that outlives the grace, so the drain takes a while and can be watched.
    const sleeper = String((await json(await submit({ type: 'sleep', args: { ms: 10_000 } })))['step_id']);
    await waitFor('sleep claimed', async () => (await json(await fetch(`${base}/status/${sleeper}`)))['status'] === 'claimed');
    pod.signals.emit('SIGTERM', 'SIGTERM');
    const duringDrain = await fetch(`${base}/health`);
    expect(duringDrain.status).toBe(503);
    expect(await json(duringDrain)).toMatchObject({ status: 'draining', current_capacity: 1 });
    const lateSubmit = await submit({ type: 'echo', args: {} });
    expect(lateSubmit.status).toBe(201);

    expect(await pod.result).toBe(0);
    expect(pod.exits).toEqual([]);
    const store = await world.store();
    expect((await store.eventList({ stepId: sleeper })).map((e) => e.kind)).toEqual(['submitted', 'claimed', 'released']);
    expect((await store.podList()).map((p) => p.status)).toEqual(['down']);
    // The API is closed with the pod.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  });

  it('refuses a bad FLEET_Q_HANDLERS module as configuration before the database file exists', async () => {
    world = new PodWorld();
    const missing = join(world.dir, 'no-such-steps.mjs');
    const doubled = join(world.dir, 'doubled-steps.mjs');
    writeFileSync(doubled, 'export const steps = [{ type: "echo", args: { safeParse: () => ({}) }, handler: () => null }];\n');
    for (const handlers of [missing, doubled]) {
      const pod = runPod({ handlers });
      const refusal = await pod.result.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refusal, handlers).toBeInstanceOf(ConfigError);
      expect((refusal as ConfigError).errors?.[0]?.loc, handlers).toMatch(/^FLEET_Q_HANDLERS/);
      expect(existsSync(world.dbPath), handlers).toBe(false);
    }
  });

  it('exits 1 at once on a second signal during the drain', async () => {
    world = new PodWorld();
    const pod = runPod({ shutdownGraceSeconds: 1 });
    const base = await pod.address;
    await healthy(base);
    await fetch(`${base}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'sleep', args: { ms: 10_000 } }),
    });
    await waitFor('a step in flight', async () => (await json(await fetch(`${base}/health`)))['current_capacity'] === 1);
    pod.signals.emit('SIGINT', 'SIGINT');
    pod.signals.emit('SIGINT', 'SIGINT');
    expect(pod.exits).toEqual([1]);
    expect(pod.lines.some((l) => l['level'] === 'warn' && String(l['msg']).includes('again'))).toBe(true);
    // In a real process exit(1) ends it here; this one finishes its drain so the test cleans up.
    expect(await pod.result).toBe(0);
  });

  it('answers /health 503 starting while the database is unreachable at start, then 200 once it answers', async () => {
    world = new PodWorld();
    const url = new URL(await requireTestDatabaseUrl());
    const schema = await freshSchema(url.toString());
    // A port nothing listens on yet; later a relay to the real server opens on it.
    const port = await freePort();
    const target = { host: url.hostname, port: Number(url.port || 5432) };
    url.host = `127.0.0.1:${port}`;
    const pod = runPod({ storageMode: 'postgres', databaseUrl: url.toString(), dbSchema: schema.schema, shutdownGraceSeconds: 0.2 });
    let relay: Server | undefined;
    try {
      await waitFor('two unreachable-database retries', () => pod.lines.filter((l) => l['event'] === 'store.unreachable').length >= 2);
      expect(pod.exits).toEqual([]);
      const base = await pod.address;
      const starting = await fetch(`${base}/health`);
      expect(starting.status).toBe(503);
      expect(await json(starting)).toMatchObject({ status: 'starting', pod_id: null, max_capacity: 2, is_leader: false });
      // Routes that need the database say so, retryably, in the one error shape.
      const submit = await fetch(`${base}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' });
      expect(submit.status).toBe(503);
      expect(submit.headers.get('retry-after')).not.toBeNull();
      expect(await json(submit)).toMatchObject({ error_type: 'database_error', path: '/submit' });
      relay = createServer((client) => {
        const server = connect(target);
        // One side hanging up or failing ends the other: a write after it hung up must not throw (EPIPE).
        const end = () => {
          client.destroy();
          server.destroy();
        };
        client.on('error', end).on('close', end);
        server.on('error', end).on('close', end);
        client.pipe(server).pipe(client);
      }).listen(port, '127.0.0.1');
      await healthy(base);
      expect((await fetch(`${base}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' })).status).toBe(201);
      pod.signals.emit('SIGTERM', 'SIGTERM');
      expect(await pod.result).toBe(0);
    } finally {
      relay?.close();
      await schema.drop();
    }
  });

  it('ends with exit code 0 when signalled while the database is still unreachable', async () => {
    world = new PodWorld();
    const pod = runPod({ storageMode: 'postgres', databaseUrl: `postgresql://postgres@127.0.0.1:${await freePort()}/test` });
    await waitFor('an unreachable-database retry', () => pod.lines.some((l) => l['event'] === 'store.unreachable'));
    pod.signals.emit('SIGTERM', 'SIGTERM');
    expect(await pod.result).toBe(0);
  });
});
