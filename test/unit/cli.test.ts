/**
 * The built `fleet-q` executable as a real process against a temp SQLite file: commands, `--json`
 * bodies equal to the HTTP API's for the same state (the API built in-test over the same file), exit
 * codes 0/1/2, help everywhere, and configuration errors listing every problem. `start` is the pod's
 * and is covered by the end-to-end suite.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { StepRegistry } from '../../src/steps/registry.js';
import { loadHandlerModule, withBuiltinSteps } from '../../src/steps/load.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDLERS = join(ROOT, 'test/fixtures/producer-steps.mjs');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['start', 'submit', 'status', 'queue', 'dlq', 'migrate'];
const META = { max_parallelism: 4, capacity: 3, in_flight: 0, version: 'test', host: 'h' };

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let buildDir: string;
let cliPath: string;

/** Compiles src/cli.ts and everything it imports with the package's build settings, into a private dir. */
beforeAll(async () => {
  buildDir = join(ROOT, '.tmp', `cli-build-${process.pid}`);
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  await writeFile(
    join(buildDir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.build.json',
      compilerOptions: { outDir: './out', rootDir: '../..', declaration: false, sourceMap: false },
      include: [],
      files: ['../../src/cli.ts'],
    }),
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const build = await exec(process.execPath, [tsc, '-p', join(buildDir, 'tsconfig.json')], { cwd: ROOT, env: process.env });
  if (build.code !== 0) throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
  cliPath = join(buildDir, 'out/src/cli.js');
  expect(readFileSync(cliPath, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
});
afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

function exec(file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { cwd: options.cwd, env: options.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}

let dir: string;
let dbPath: string;
let baseEnv: NodeJS.ProcessEnv;
let store: SqliteStore | undefined;
let app: FastifyInstance | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-cli-'));
  dbPath = join(dir, 'queue.db');
  // The runner's own FLEET_Q_* variables must not leak into the process under test.
  baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLEET_Q_')));
  baseEnv['FLEET_Q_SQLITE_DB_PATH'] = dbPath;
  baseEnv['FLEET_Q_HANDLERS'] = HANDLERS;
});
afterEach(async () => {
  await app?.close();
  await store?.close();
  app = store = undefined;
  await rm(dir, { recursive: true, force: true });
});

function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<Run> {
  return exec(process.execPath, [cliPath, ...args], {
    cwd: dir,
    env: options.env ?? baseEnv,
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  });
}

/** The API over the same file, as a pod process would serve it. */
async function httpApi(): Promise<{ store: SqliteStore; get: (url: string) => Promise<unknown> }> {
  store = await openSqliteStore({ path: dbPath, policy: { baseDelayMs: 1000, maxDelayMs: 8000, deadPodThresholdMs: 180_000, maxReleases: 3 } });
  await store.migrate();
  const registry = new StepRegistry(withBuiltinSteps(await loadHandlerModule(HANDLERS)));
  const api = await buildApp({ store, registry, defaults: { defaultMaxRetries: 3, defaultStepTimeoutMs: 900_000 } });
  app = api;
  const s = store;
  return { store: s, get: async (url) => (await api.inject({ method: 'GET', url })).json() };
}

describe('fleet-q migrate', () => {
  it('creates the schema, then reports it up to date', async () => {
    const first = await cli(['migrate', '--json']);
    expect(first.code).toBe(0);
    const { from_version, to_version } = JSON.parse(first.stdout);
    expect(from_version).toBe(0);
    expect(to_version).toBeGreaterThan(0);
    expect(JSON.parse((await cli(['migrate', '--json'])).stdout)).toEqual({ from_version: to_version, to_version });
    const human = await cli(['migrate']);
    expect(human).toMatchObject({ code: 0, stdout: `Schema is up to date (version ${to_version}).\n` });
  });
});

describe('fleet-q submit', () => {
  it('prints only the step id; a repeated key with identical args prints the same id', async () => {
    const first = await cli(['submit', 'echo', '--args', '{"a":1}', '--priority', '4', '--idempotency-key', 'k1']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^step_[0-9A-Z]{26}\n$/);
    const again = await cli(['submit', 'echo', '--args', '{"a":1}', '--idempotency-key', 'k1', '--priority', '4']);
    expect(again).toMatchObject({ code: 0, stdout: first.stdout });
    const { get } = await httpApi();
    expect(await get(`/status/${first.stdout.trim()}`)).toMatchObject({ priority: 4, payload: { type: 'echo', args: { a: 1 } } });
  });

  it("--deadline stores the step's deadline; a time without a zone exits 2 naming the field", async () => {
    const res = await cli(['submit', 'echo', '--deadline', '2031-02-03T04:05:06Z']);
    expect(res.code).toBe(0);
    const { get } = await httpApi();
    expect(await get(`/status/${res.stdout.trim()}`)).toMatchObject({ deadline: '2031-02-03T04:05:06.000Z' });
    const bad = await cli(['submit', 'echo', '--deadline', '2031-02-03 04:05']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('deadline');
  });

  it('--json prints the body of POST /submit', async () => {
    const res = await cli(['submit', 'invoice.send', '--args', '{"invoice":3,"email":"a@b.co"}', '--max-retries', '2', '--json']);
    expect(res.code).toBe(0);
    const body = JSON.parse(res.stdout);
    expect(body).toEqual({ step_id: expect.stringMatching(/^step_/), status: 'submitted', message: `Step ${body.step_id} submitted successfully` });
    const { get } = await httpApi();
    expect(await get(`/status/${body.step_id}`)).toMatchObject({ max_retries: 2 });
  });

  it('exits 1 on a conflicting idempotency key, printing nothing on stdout', async () => {
    expect((await cli(['submit', 'echo', '--args', '{"a":1}', '--idempotency-key', 'k'])).code).toBe(0);
    const res = await cli(['submit', 'echo', '--args', '{"a":2}', '--idempotency-key', 'k']);
    expect(res).toMatchObject({ code: 1, stdout: '' });
    expect(res.stderr).toMatch(/idempotency/i);
  });

  it('exits 2 on args failing the FLEET_Q_HANDLERS schema, naming each field, and writes nothing', async () => {
    const res = await cli(['submit', 'invoice.send', '--args', '{"invoice":-1,"email":"x"}']);
    expect(res).toMatchObject({ code: 2, stdout: '' });
    expect(res.stderr).toContain('args.invoice');
    expect(res.stderr).toContain('args.email');
    const { get } = await httpApi();
    expect(await get('/admin/queue')).toMatchObject({ pending_steps: 0 });
  });

  it.each([
    [['submit'], /missing <type>/],
    [['submit', 'echo', '--args', '{bad'], /--args is not valid JSON/],
    [['submit', 'echo', '--priority', 'high'], /--priority must be an integer/],
    [['submit', 'echo', '--colour', 'red'], /--colour/],
    [['submit', 'nope.type'], /unknown step type/],
    [['submit', 'echo', '--batch', 'steps.json'], /--batch takes every field from FILE/],
  ])('exits 2 for %j', async (args, message) => {
    const res = await cli(args);
    expect(res).toMatchObject({ code: 2, stdout: '' });
    expect(res.stderr).toMatch(message);
  });

  it('--batch prints one id per line in order, from a file or stdin', async () => {
    const file = join(dir, 'steps.json');
    await writeFile(
      file,
      JSON.stringify({
        steps: [
          { type: 'echo', args: { i: 0 } },
          { type: 'sleep', args: { ms: 1 } },
          { type: 'echo', args: { i: 2 } },
        ],
      }),
    );
    const res = await cli(['submit', '--batch', file]);
    expect(res.code).toBe(0);
    const ids = res.stdout.trim().split('\n');
    expect(ids).toHaveLength(3);
    const { get } = await httpApi();
    const types = await Promise.all(ids.map(async (id) => ((await get(`/status/${id}`)) as { payload: { type: string } }).payload.type));
    expect(types).toEqual(['echo', 'sleep', 'echo']);

    const piped = await cli(['submit', '--batch', '-', '--json'], { stdin: JSON.stringify([{ type: 'echo' }]) });
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toEqual({ step_ids: [expect.stringMatching(/^step_/)] });
  });

  it('--batch with a bad item exits 2 naming its index and writes nothing', async () => {
    const file = join(dir, 'steps.json');
    await writeFile(file, JSON.stringify([{ type: 'echo' }, { type: 'invoice.send', args: {} }]));
    const res = await cli(['submit', '--batch', file]);
    expect(res).toMatchObject({ code: 2, stdout: '' });
    expect(res.stderr).toContain('steps.1.');
    const { get } = await httpApi();
    expect(await get('/admin/queue')).toMatchObject({ pending_steps: 0 });
  });
});

const AGES = 'oldest_pending_age_seconds_by_priority';
type QueueBody = Record<string, unknown> & { [AGES]: Record<string, number> };

describe('fleet-q status, queue, dlq', () => {
  it('--json prints exactly the HTTP bodies of GET /status, /admin/queue and /admin/dlq', async () => {
    const id = (await cli(['submit', 'echo', '--args', '{"x":[1,2]}', '--priority', '2'])).stdout.trim();
    await cli(['submit', 'sleep', '--args', '{"ms":5}']);
    const { store: s, get } = await httpApi();
    await s.podRegister({ podId: 'p-1', name: 'p', meta: META });
    await s.stepClaim({ podId: 'p-1', types: ['sleep'], limit: 1 });

    const status = await cli(['status', id, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(await get(`/status/${id}`));
    expect(JSON.parse((await cli(['--json', 'status', id, '--history'])).stdout)).toEqual(await get(`/status/${id}?history=true`));
    // Pending ages are whole seconds at the moment of each read: the CLI's lie between the two
    // HTTP reads' around it, and everything else is equal.
    const before = (await get('/admin/queue')) as QueueBody;
    const printed = JSON.parse((await cli(['queue', '--json'])).stdout) as QueueBody;
    const after = (await get('/admin/queue')) as QueueBody;
    expect({ ...printed, [AGES]: after[AGES] }).toEqual(after);
    expect(Object.keys(printed[AGES]).sort()).toEqual(Object.keys(after[AGES]).sort());
    for (const [priority, age] of Object.entries(printed[AGES])) {
      expect(age).toBeGreaterThanOrEqual(before[AGES][priority]!);
      expect(age).toBeLessThanOrEqual(after[AGES][priority]!);
    }
    expect(JSON.parse((await cli(['dlq', '--json'])).stdout)).toEqual(await get('/admin/dlq'));
  });

  it('prints readable output without --json', async () => {
    const id = (await cli(['submit', 'echo', '--args', '{"x":1}'])).stdout.trim();
    const status = await cli(['status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^step_id: +${id}$`, 'm'));
    expect(status.stdout).toMatch(/^status: +pending$/m);
    const queue = await cli(['queue']);
    expect(queue.stdout).toMatch(/^pending: +1$/m);
  });

  it('status of an unknown step exits 1; with --json the error body is printed like the HTTP answer', async () => {
    await cli(['migrate']);
    const plain = await cli(['status', 'step_NOPE']);
    expect(plain).toMatchObject({ code: 1, stdout: '' });
    expect(plain.stderr).toContain('step_NOPE');
    const json = await cli(['status', 'step_NOPE', '--json']);
    expect(json).toMatchObject({ code: 1, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({ error_type: 'not_found', path: '/status/step_NOPE', detail: expect.any(String) });
  });

  it('dlq list and replay: 0 for a dead-lettered step, 1 when not in the DLQ or unknown', async () => {
    const id = (await cli(['submit', 'echo', '--max-retries', '0'])).stdout.trim();
    const { store: s, get } = await httpApi();
    await s.podRegister({ podId: 'p-1', name: 'p', meta: META });
    await s.stepClaim({ podId: 'p-1', types: ['echo'], limit: 1 });
    await s.stepFail({ stepId: id, podId: 'p-1', attempt: 1, error: 'it broke', retryable: true, reason: 'error' });

    const list = await cli(['dlq', 'list', '--limit', '10', '--json']);
    expect(JSON.parse(list.stdout)).toEqual(await get('/admin/dlq?limit=10'));
    expect(JSON.parse(list.stdout)).toMatchObject({ total: 1, steps: [{ step_id: id, last_error: 'it broke' }] });
    expect((await cli(['dlq'])).stdout).toContain(id);

    const replay = await cli(['dlq', 'replay', id, '--json']);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({ step_id: id, status: 'pending' });
    expect(await cli(['dlq', 'replay', id])).toMatchObject({ code: 1, stdout: '' });
    expect(await cli(['dlq', 'replay', 'step_NOPE'])).toMatchObject({ code: 1, stdout: '' });
  });

  it('cancel: 0 for a running step (with its holder aborted later), 1 when already terminal or unknown, 2 without an id; status shows progress', async () => {
    const id = (await cli(['submit', 'echo'])).stdout.trim();
    const { store: s } = await httpApi();
    await s.podRegister({ podId: 'p-1', name: 'p', meta: META });
    await s.stepClaim({ podId: 'p-1', types: ['echo'], limit: 1 });
    await s.stepProgress({ stepId: id, podId: 'p-1', attempt: 1, progress: { done: 2, of: 5 } });
    expect((await cli(['status', id])).stdout).toMatch(/^progress: +\{"done":2,"of":5\}$/m);

    const cancel = await cli(['cancel', id, '--json']);
    expect(cancel.code).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ step_id: id, status: 'cancelled', previous_status: 'claimed' });
    expect(await cli(['cancel', id])).toMatchObject({ code: 1, stdout: '' });
    expect(await cli(['cancel', 'step_NOPE'])).toMatchObject({ code: 1, stdout: '' });
    expect(await cli(['cancel'])).toMatchObject({ code: 2, stdout: '' });
    expect((await s.stepGet({ stepId: id }))?.status).toBe('cancelled');
  });

  it.each([[['dlq', '--limit', '501']], [['dlq', '--offset', '-1']], [['dlq', 'purge']], [['dlq', 'replay']], [['status']], [['queue', 'extra']]])(
    'exits 2 for %j',
    async (args) => {
      const res = await cli(args);
      expect(res).toMatchObject({ code: 2, stdout: '' });
      expect(res.stderr).not.toBe('');
    },
  );
});

describe('usage, help and configuration', () => {
  it('without a command prints usage to stderr and exits 2; unknown commands exit 2', async () => {
    const none = await cli([]);
    expect(none).toMatchObject({ code: 2, stdout: '' });
    expect(none.stderr).toContain('Usage: fleet-q <command>');
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stdout: '' });
    expect(await cli(['--nope'])).toMatchObject({ code: 2, stdout: '' });
  });

  it('--help works at the top level and for every command, needing no configuration', async () => {
    const env = { ...baseEnv, FLEET_Q_MAX_PARALLELISM: 'lots' };
    const top = await cli(['--help'], { env });
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(`  ${command}`);
    for (const command of COMMANDS) {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const res = await cli(args, { env });
        expect(res.code, args.join(' ')).toBe(0);
        expect(res.stdout).toContain(`Usage: fleet-q ${command}`);
      }
    }
    expect(existsSync(dbPath)).toBe(false);
  });

  it('--version prints the package version', async () => {
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('an invalid configuration exits 2 listing every problem, one per line, and opens nothing', async () => {
    const env = { ...baseEnv, FLEET_Q_MAX_PARALLELISM: '0', FLEET_Q_DEFAULT_MAX_RETRIES: '99', FLEET_Q_STORAGE_MODE: 'mongodb', FLEET_Q_MAX_PARALELISM: '4' };
    for (const args of [['queue'], ['submit', 'echo'], ['migrate']]) {
      const res = await cli(args, { env });
      expect(res).toMatchObject({ code: 2, stdout: '' });
      const lines = res.stderr.trim().split('\n');
      for (const variable of ['FLEET_Q_MAX_PARALLELISM', 'FLEET_Q_DEFAULT_MAX_RETRIES', 'FLEET_Q_STORAGE_MODE', 'FLEET_Q_MAX_PARALELISM']) {
        expect(
          lines.filter((l) => l.startsWith(`${variable}:`)),
          variable,
        ).toHaveLength(1);
      }
    }
    expect(existsSync(dbPath)).toBe(false);
  });

  it('bad Snowflake settings exit 2 with one line per problem and no secret in the output', async () => {
    const secret = 'sf-Secret-Password-93';
    const env = {
      ...baseEnv,
      FLEET_Q_STORAGE_MODE: 'snowflake',
      FLEET_Q_SNOWFLAKE_USER: 'svc',
      FLEET_Q_SNOWFLAKE_DATABASE: 'Q',
      FLEET_Q_SNOWFLAKE_WAREHOUSE: 'WH',
      FLEET_Q_SNOWFLAKE_PASSWORD: secret,
      FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH: join(dir, 'no-such-key.p8'),
      FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: `${secret}-phrase`,
    };
    const res = await cli(['queue'], { env });
    expect(res).toMatchObject({ code: 2, stdout: '' });
    const lines = res.stderr.trim().split('\n');
    for (const variable of ['FLEET_Q_SNOWFLAKE_ACCOUNT', 'FLEET_Q_SNOWFLAKE_PASSWORD', 'FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PATH']) {
      expect(
        lines.filter((l) => l.startsWith(`${variable}:`)),
        variable,
      ).toHaveLength(1);
    }
    expect(res.stderr).not.toContain(secret);
  });

  it('an unloadable FLEET_Q_HANDLERS module exits 2 for submit', async () => {
    const res = await cli(['submit', 'echo'], { env: { ...baseEnv, FLEET_Q_HANDLERS: join(dir, 'missing.mjs') } });
    expect(res).toMatchObject({ code: 2, stdout: '' });
    expect(res.stderr).toMatch(/^FLEET_Q_HANDLERS: /m);
  });
});
