/**
 * GET /openapi.json and /docs: the document lists exactly the routes of the route table (and of the
 * README's API table), every schema in it compiles and its references resolve, the submission is
 * typed by the registered step types, real answers of the app conform to it, and the /docs page loads
 * its assets from this server only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { apiAuthOf } from '../../src/http/auth.js';
import { ROUTES } from '../../src/http/routes.js';
import type * as wire from '../../src/http/schemas.js';
import type { DlqView, HealthView, LeaderView, QueueView, RecoveryView, StepView, SubmitView, WorkflowView } from '../../src/http/views.js';
import { OpenApiValidator } from '../support/openapi-validator.js';
import { ERROR_KEYS, FakePod, openTestApi, type TestApi } from './http-fixture.js';

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

async function documentOf(app: TestApi['app']): Promise<Doc> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.json() as Doc;
}

/** `GET /status/:step_id` for each operation of the document. */
function operations(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`))
    .sort();
}

/** The routes of the README's API table (first cell of each row under `| Route | Answer |`). */
function readmeRoutes(): string[] {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = text.slice(text.indexOf('| Route | Answer |'));
  const rows = table.split('\n').slice(2);
  const end = rows.findIndex((r) => !r.startsWith('|'));
  return rows
    .slice(0, end)
    .map((r) => /^\| `([A-Z]+ [^`?]+)/.exec(r)?.[1] ?? `unparsed row: ${r}`)
    .sort();
}

describe('GET /openapi.json', () => {
  it('lists exactly the route table, and the README API table lists exactly the document', async () => {
    api = await openTestApi();
    const doc = await documentOf(api.app);
    expect(doc.openapi).toBe('3.1.0');
    const documented = operations(doc);
    expect(documented).toEqual(ROUTES.map((r) => `${r.method} ${r.url}`).sort());
    expect(readmeRoutes()).toEqual(documented);
  });

  it('every route of the table is served by the app', async () => {
    api = await openTestApi({ pod: new FakePod() });
    for (const route of ROUTES) {
      const res = await api.app.inject({ method: route.method, url: route.url.replace(':step_id', 'step_x').replace(':file', 'init.js') });
      expect(res.body, `${route.method} ${route.url}`).not.toContain('no route');
    }
  });

  it('compiles: every component schema is valid JSON Schema 2020-12 and every reference resolves', async () => {
    api = await openTestApi();
    const doc = await documentOf(api.app);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(doc as object, 'doc');
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => ajv.compile({ $ref: `doc#/components/schemas/${name}` }), name).not.toThrow();
    }
    const text = JSON.stringify(doc);
    expect(text).not.toContain('#/$defs/');
  });

  it('types a submission by the registered step types and their args schemas', async () => {
    api = await openTestApi();
    const doc = await documentOf(api.app);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(doc as object, 'doc');
    const submission = ajv.compile({ $ref: 'doc#/components/schemas/Submission' });
    expect(submission({ type: 'sleep', args: { ms: 5 } })).toBe(true);
    expect(submission({ type: 'echo' })).toBe(true);
    expect(submission({ type: 'email.send', args: { to: 'a@b.example', subject: 'hi' }, priority: 3, idempotency_key: null })).toBe(true);
    expect(submission({ type: 'sleep' })).toBe(false); // sleep needs ms
    expect(submission({ type: 'nope', args: {} })).toBe(false);
    expect(submission({ type: 'echo', bogus: 1 })).toBe(false);
    expect(submission({ type: 'echo', priority: 1.5 })).toBe(false);
  });

  it('says which operations need a token, only when tokens are configured', async () => {
    api = await openTestApi({
      app: { auth: apiAuthOf({ apiAuth: 'tokens', apiTokensRead: 'read-token-aaaaaaaaaaaa', apiTokensSubmit: undefined, apiTokensAdmin: undefined }) },
    });
    const guarded = await documentOf(api.app);
    expect(guarded.paths['/submit']!['post']!.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(guarded.paths['/submit']!['post']!.responses)).toEqual(expect.arrayContaining(['401', '403']));
    expect(guarded.paths['/health']!['get']!.security).toEqual([]);
    expect(guarded.paths['/metrics']!['get']!.security).toEqual([{ bearer: [] }]);
    await api.close();
    api = await openTestApi();
    expect((await documentOf(api.app)).paths['/submit']!['post']!.security).toEqual([]);
  });

  it("the app's real answers conform to it", async () => {
    api = await openTestApi({ pod: new FakePod() });
    const validator = new OpenApiValidator(await documentOf(api.app));
    const submit = await api.app.inject({
      method: 'POST',
      url: '/submit',
      payload: { type: 'echo', args: { a: [1, { b: null }] }, metadata: { m: 'x' }, idempotency_key: 'k1' },
    });
    const stepId = submit.json().step_id as string;
    const calls: [string, string, string, unknown?][] = [
      ['GET', '/health', '/health'],
      ['POST', '/submit', '/submit', { type: 'echo', args: { a: [1, { b: null }] }, metadata: { m: 'x' }, idempotency_key: 'k1' }],
      ['POST', '/submit/batch', '/submit/batch', { steps: [{ type: 'sleep', args: { ms: 1 } }, { type: 'fail' }] }],
      ['POST', '/submit', '/submit', { type: 'sleep', args: { ms: -1 } }],
      ['GET', '/status/:step_id', `/status/${stepId}?history=true`],
      ['GET', '/status/:step_id', '/status/step_nope'],
      ['GET', '/idempotency/:step_id', `/idempotency/${stepId}`],
      ['GET', '/admin/leader', '/admin/leader'],
      ['GET', '/admin/queue', '/admin/queue'],
      ['POST', '/admin/recovery/run', '/admin/recovery/run', { force: true, dry_run: true }],
      ['GET', '/admin/dlq', '/admin/dlq?limit=5'],
      ['GET', '/admin/dlq', '/admin/dlq?limit=0'],
      ['POST', '/admin/dlq/:step_id/replay', `/admin/dlq/${stepId}/replay`],
    ];
    for (const [method, route, url, payload] of calls) {
      const res = await api.app.inject({ method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(res.statusCode, url).toBeLessThan(500);
      expect(validator.problems(method, route, res.statusCode, res.json()), `${method} ${url} → ${res.statusCode} ${res.body}`).toEqual([]);
    }
  });

  it('the validator notices a body that contradicts the document', async () => {
    api = await openTestApi();
    const validator = new OpenApiValidator(await documentOf(api.app));
    expect(validator.problems('GET', '/admin/queue', 200, { pending_steps: -1 })).not.toEqual([]);
    expect(validator.problems('GET', '/health', 503, { detail: 'x', error_type: 'not_found', timestamp: '2020-01-01T00:00:00.000Z', path: '/' })).not.toEqual(
      [],
    );
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from the package, with nothing fetched from another origin', async () => {
    api = await openTestApi();
    const page = await api.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    for (const ref of refs) {
      expect(ref, 'relative to this server').not.toMatch(/^[a-z]+:|^\/\//i);
      const res = await api.app.inject({ method: 'GET', url: `/${ref}` });
      expect(res.statusCode, ref).toBe(200);
      const file = ref.split('/').pop()!;
      if (file !== 'init.js') expect(res.rawPayload.equals(readFileSync(join(dist, file))), ref).toBe(true);
      else expect(res.body).toContain("url: 'openapi.json'");
    }
    const missing = await api.app.inject({ method: 'GET', url: '/docs/assets/..%2Fpackage.json' });
    expect(missing.statusCode).toBe(404);
    expect(Object.keys(missing.json()).sort()).toEqual(ERROR_KEYS);
  });
});

/** Compile-time: the views build exactly what the wire schemas (and so the document) describe. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Plain<T> = T extends readonly (infer U)[] ? Plain<U>[] : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> } : T;
const viewsMatchSchemas: [
  Same<Plain<HealthView>, Plain<z.output<typeof wire.healthBodySchema>>>,
  Same<Plain<SubmitView>, Plain<z.output<typeof wire.submitBodySchema>>>,
  Same<Plain<QueueView>, Plain<z.output<typeof wire.queueBodySchema>>>,
  Same<Plain<LeaderView>, Plain<z.output<typeof wire.leaderBodySchema>>>,
  Same<Plain<DlqView>['steps'], Plain<z.output<typeof wire.dlqBodySchema>>['steps']>,
  Same<Plain<RecoveryView>['recovery_summary'], Plain<z.output<typeof wire.recoveryResultBodySchema>>['recovery_summary']>,
  Same<keyof StepView, keyof z.output<typeof wire.stepBodySchema>>,
  Same<Plain<WorkflowView>, Plain<z.output<typeof wire.workflowBodySchema>>>,
] = [true, true, true, true, true, true, true, true];
void viewsMatchSchemas;

/** Findings of schemathesis against a live pod, each now held by a test (see .ci/api-fuzz/). */
describe('the contract at its edges', () => {
  it('a known path with another method: 405 with Allow, in the error shape, before the body is read', async () => {
    api = await openTestApi();
    for (const [method, url, allow] of [
      ['TRACE', '/submit', 'POST'],
      ['DELETE', '/status/step_x', 'GET, HEAD'],
      ['PUT', '/admin/dlq/step_x/replay', 'POST'],
    ] as const) {
      const res = await api.app.inject({ method, url, headers: { 'content-type': 'text/plain' }, payload: 'x' });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers['allow']).toBe(allow);
      expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
    }
    expect((await api.app.inject({ method: 'DELETE', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('POST /admin/recovery/run refuses a JSON null body (no body still means {})', async () => {
    api = await openTestApi({ pod: new FakePod() });
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', headers: { 'content-type': 'application/json' }, payload: 'null' });
    expect(res.statusCode).toBe(400);
    expect((await api.app.inject({ method: 'POST', url: '/admin/recovery/run' })).statusCode).toBe(200);
  });

  it('GET /admin/dlq refuses an empty limit or offset rather than reading it as unset', async () => {
    api = await openTestApi();
    expect((await api.app.inject({ method: 'GET', url: '/admin/dlq?limit=' })).statusCode).toBe(400);
    expect((await api.app.inject({ method: 'GET', url: '/admin/dlq?offset=' })).statusCode).toBe(400);
    expect((await api.app.inject({ method: 'GET', url: '/admin/dlq' })).statusCode).toBe(200);
  });

  it('U+0000 is refused in an idempotency key, and the document says so for keys, strings and map keys', async () => {
    api = await openTestApi();
    const res = await api.app.inject({ method: 'POST', url: '/submit', payload: { type: 'echo', idempotency_key: 'a\u0000b' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ loc: 'idempotency_key', msg: 'must not contain U+0000' }]);
    const doc = await documentOf(api.app);
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(doc as object, 'doc');
    const submission = ajv.compile({ $ref: 'doc#/components/schemas/Submission' });
    expect(submission({ type: 'echo', args: { a: 'x\u0000' } })).toBe(false);
    expect(submission({ type: 'echo', metadata: { 'k\u0000': 1 } })).toBe(false);
    expect(submission({ type: 'echo', idempotency_key: '\u0000' })).toBe(false);
    expect(submission({ type: 'echo', args: { a: 'x' }, metadata: { k: 'v' }, idempotency_key: 'k' })).toBe(true);
  });
});
