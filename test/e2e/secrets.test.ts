/**
 * End to end, secrets and exposure: a real `fleet-q start` on 0.0.0.0 with canary values in every
 * secret variable (the PostgreSQL password inside FLEET_Q_DATABASE_URL, the three API token lists,
 * the Snowflake password, and any variable CONFIG_VARIABLES marks `secret` later) is driven through
 * its routes, the CLI and its failure paths (bad configuration, an unreachable database); no canary
 * may appear in any log line, response body or header, or CLI output. The same pod proves every
 * route answers 401 / 403 / 2xx by scope, every log line of a request carries its request id, and a
 * pod on 0.0.0.0 without tokens refuses to start (exit 2). PostgreSQL (trust auth takes any password).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../src/config/config.js';
import { ROUTES } from '../../src/http/routes.js';
import { freePort } from '../support/embedded-postgres.js';
import { requireTestDatabaseUrl } from '../support/postgres.js';
import { postgresQueue } from './database.js';
import { cleanEnv, HANDLERS, queueCli, startPod, useE2eSuite, withQueue } from './harness.js';
import { runCli } from './http.js';
import { TIMING_ENV } from './timing.js';
import { waitFor } from '../support/wait.js';

const suite = useE2eSuite();

/** Names that say "this is a secret": such a variable must be marked `secret` in CONFIG_VARIABLES. */
const SECRET_NAME = /PASSWORD|PASSPHRASE|TOKEN|SECRET|(?<!PATH_)PRIVATE_KEY(?!_PATH)/;

/** A value no code path would produce by chance; long enough to be a valid API token. */
function canary(label: string): string {
  return `canary-${label}-${randomBytes(10).toString('hex')}`;
}

/**
 * A canary value for every variable marked secret, built into `databaseUrl` for the URL's password.
 * A new secret variable (e.g. FLEET_Q_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE) is covered once it is marked.
 */
function canaryEnv(databaseUrl: string): { env: Record<string, string>; canaries: string[]; tokens: Record<'read' | 'submit' | 'admin', string> } {
  const env: Record<string, string> = {};
  const canaries: string[] = [];
  for (const v of CONFIG_VARIABLES) {
    if (v.secret === undefined) continue;
    const value = canary(
      v.variable
        .toLowerCase()
        .replace(/^fleet_q_/, '')
        .replace(/_/g, '-'),
    );
    canaries.push(value);
    if (v.secret === 'url-password') {
      const url = new URL(databaseUrl);
      url.password = value;
      env[v.variable] = url.toString();
    } else {
      env[v.variable] = value;
    }
  }
  const tokens = { read: env['FLEET_Q_API_TOKENS_READ']!, submit: env['FLEET_Q_API_TOKENS_SUBMIT']!, admin: env['FLEET_Q_API_TOKENS_ADMIN']! };
  return { env, canaries, tokens };
}

/** Everything a client sees of one answer: status line, headers, body. */
async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: string; requestId?: string } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(10_000),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = `${res.status} ${JSON.stringify([...res.headers.entries()])}\n${await res.text()}`;
  return { status: res.status, text };
}

function leaks(texts: readonly string[], canaries: readonly string[]): string[] {
  return canaries.flatMap((c) => texts.filter((t) => t.includes(c)).map((t) => `${c} in: ${t.slice(Math.max(0, t.indexOf(c) - 200), t.indexOf(c) + 100)}`));
}

describe('secrets and exposure', () => {
  it('every variable named like a secret is marked secret (so it is redacted and gets a canary here)', () => {
    const unmarked = CONFIG_VARIABLES.filter((v) => SECRET_NAME.test(v.variable) && v.secret === undefined).map((v) => v.variable);
    expect(unmarked).toEqual([]);
    expect(CONFIG_VARIABLES.filter((v) => v.secret !== undefined).length).toBeGreaterThanOrEqual(5);
  });

  it('no canary secret appears in any log line, response or CLI output; routes answer by scope; request ids on every request log line', async () => {
    const url = await requireTestDatabaseUrl();
    await withQueue(
      () => postgresQueue(url),
      async (queue) => {
        const { env, canaries, tokens } = canaryEnv(queue.env['FLEET_Q_DATABASE_URL']!);
        const podEnv = { ...env, FLEET_Q_API_HOST: '0.0.0.0', FLEET_Q_LOG_LEVEL: 'trace' };
        const texts: string[] = [];

        const pod = await startPod({ cli: suite.cli, queue, name: 'e2e-secrets', env: podEnv });
        const base = pod.baseUrl;

        // Every route by scope: 401 without or with a wrong token, 403 below its scope, through at or above it.
        const rank = { read: 0, submit: 1, admin: 2 } as const;
        for (const route of ROUTES) {
          const path = route.url.replace(':step_id', 'step_none').replace(':file', 'init.js');
          const body = route.method === 'POST' ? '{}' : undefined;
          const needed = route.access === 'metrics' ? 'read' : route.access;
          for (const token of [undefined, `${tokens.admin}x`, tokens.read, tokens.submit, tokens.admin]) {
            const answer = await call(base, route.method, path, { ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { body }) });
            texts.push(answer.text);
            const scope = token === tokens.read ? 'read' : token === tokens.submit ? 'submit' : token === tokens.admin ? 'admin' : null;
            const what = `${route.method} ${path} with ${scope ?? 'no valid token'}: ${answer.text.slice(0, 300)}`;
            if (needed === 'open') expect([401, 403], what).not.toContain(answer.status);
            else if (scope === null) expect(answer.status, what).toBe(401);
            else if (rank[scope] < rank[needed]) expect(answer.status, what).toBe(403);
            else expect([401, 403], what).not.toContain(answer.status);
          }
        }

        // Work and failures through the API, each with a request id of ours.
        const submitted = await call(base, 'POST', '/submit', { token: tokens.submit, body: '{"type":"echo","args":{"n":1}}', requestId: 'e2e-req-submit' });
        expect(submitted.status).toBe(201);
        const stepId = /"step_id":"([^"]+)"/.exec(submitted.text)![1]!;
        for (const [method, path, token, body] of [
          ['POST', '/submit', tokens.submit, '{"type": "echo", "args": '],
          ['POST', '/submit', tokens.submit, '{"type":"sleep","args":{"ms":-1}}'],
          ['GET', `/status/${stepId}?history=true`, tokens.read, undefined],
          ['GET', `/status/${'x'.repeat(120)}`, tokens.read, undefined],
          ['DELETE', '/submit', tokens.admin, undefined],
          ['GET', '/no/such/route', tokens.admin, undefined],
          ['POST', '/admin/recovery/run', tokens.admin, '{"force":true,"dry_run":true}'],
        ] as const) {
          texts.push((await call(base, method, path, { token, ...(body === undefined ? {} : { body }), requestId: 'e2e-req-misc' })).text);
        }

        // The CLI on the same queue and secrets: commands, --json, a not-found, a configuration error.
        const cli = (args: string[], extra: Record<string, string> = {}) => queueCli(suite.cli, queue, args, { ...env, ...extra });
        for (const run of [
          await cli(['queue', '--json']),
          await cli(['status', stepId, '--history']),
          await cli(['status', 'step_none']),
          await cli(['submit', 'echo', '--args', '{"n":2}']),
          await cli(['dlq', 'list', '--json']),
          await cli(['migrate', '--json']),
          await cli(['queue'], { FLEET_Q_MAX_PARALLELISM: 'abc' }),
        ]) {
          texts.push(`${run.code} ${run.stdout}\n${run.stderr}`);
        }
        expect(texts.at(-1)).toMatch(/^2 /);

        pod.signal('SIGTERM');
        expect((await pod.exited).code).toBe(0);
        texts.push(pod.output);

        // Request ids: every log line about a request (fastify's own and ours) carries one.
        const lines = pod.output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const requestLines = lines.filter((l) => 'req' in l || 'res' in l || (l['component'] === 'http' && l['request_id'] !== undefined));
        expect(requestLines.length).toBeGreaterThan(50);
        expect(requestLines.filter((l) => typeof l['request_id'] !== 'string')).toEqual([]);
        expect(lines.filter((l) => l['request_id'] === 'e2e-req-submit').length).toBeGreaterThanOrEqual(2);
        // The recovery run's own log lines carry the id of the request that asked for it.
        expect(lines.some((l) => l['request_id'] === 'e2e-req-misc' && String(l['event'] ?? '').startsWith('recovery.'))).toBe(true);

        // Failure paths of `fleet-q start`: a bad variable beside the secrets, and an unreachable database.
        const startEnv = { ...cleanEnv(), ...TIMING_ENV, ...queue.env, ...podEnv, FLEET_Q_HANDLERS: HANDLERS, FLEET_Q_API_PORT: String(await freePort()) };
        const badStart = await runCli(suite.cli, ['start'], { cwd: queue.dir, env: { ...startEnv, FLEET_Q_CAPACITY_THRESHOLD: '2' }, timeoutMs: 20_000 });
        expect(badStart.code).toBe(2);
        texts.push(`${badStart.stdout}\n${badStart.stderr}`);

        const closed = new URL(env['FLEET_Q_DATABASE_URL']!);
        closed.port = String(await freePort());
        const unreachable = await startPod({
          cli: suite.cli,
          queue,
          name: 'e2e-secrets-down',
          waitHealthy: false,
          env: { ...podEnv, FLEET_Q_DATABASE_URL: closed.toString() },
        });
        await waitFor('an unreachable-database warning', () => unreachable.output.includes('store.unreachable'), { timeoutMs: 20_000 });
        const starting = await call(unreachable.baseUrl, 'GET', '/health');
        expect(starting.status).toBe(503);
        expect(starting.text).toContain('"status":"starting"');
        texts.push(starting.text, (await call(unreachable.baseUrl, 'POST', '/submit', { token: tokens.admin, body: '{"type":"echo"}' })).text);
        unreachable.signal('SIGTERM');
        expect((await unreachable.exited).code).toBe(0);
        texts.push(unreachable.output);

        expect(texts.join('').length).toBeGreaterThan(10_000);
        expect(leaks(texts, canaries)).toEqual([]);
        // The check itself can see a canary: the configuration logged at start names the database host.
        expect(pod.output).toContain('FLEET_Q_DATABASE_URL');
      },
    );
  }, 180_000);

  it('a pod on 0.0.0.0 without tokens refuses to start (exit 2) and says how to fix it', async () => {
    const url = await requireTestDatabaseUrl();
    await withQueue(
      () => postgresQueue(url),
      async (queue) => {
        const env = {
          ...cleanEnv(),
          ...TIMING_ENV,
          ...queue.env,
          FLEET_Q_HANDLERS: HANDLERS,
          FLEET_Q_API_HOST: '0.0.0.0',
          FLEET_Q_API_PORT: String(await freePort()),
        };
        const run = await runCli(suite.cli, ['start'], { cwd: queue.dir, env, timeoutMs: 20_000 });
        expect(run.code).toBe(2);
        expect(run.stderr).toContain('FLEET_Q_API_HOST');
        expect(run.stderr).toContain('FLEET_Q_API_TOKENS_');
        expect(run.stderr).toContain('FLEET_Q_API_AUTH=none');
      },
    );
  }, 60_000);
});
