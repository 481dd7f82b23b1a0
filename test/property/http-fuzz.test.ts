/**
 * A fast-check fuzz of every route of the API (the route table) against a real app on each reachable
 * real store, with token checks on: random methods' inputs, path parameters (long, %-escaped, unknown
 * and known ids), query strings, bodies (valid, almost valid, any JSON, not JSON), content types and
 * tokens of every scope. Every answer must be below 500, in the document's shape for its status (the
 * error shape included), agree with the token's scope, and the database must hold afterwards exactly
 * the steps the accepted requests created. Bounded: FUZZ_RUNS sequences of up to 25 requests per store.
 * The seed is FLEET_Q_TEST_SEED (printed on failure).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { apiAuthOf, scopeIncludes, type Scope } from '../../src/http/auth.js';
import { ROUTES, type RouteSpec } from '../../src/http/routes.js';
import { DEFAULTS, POLICY, registry } from '../unit/http-fixture.js';
import { STORE_FACTORIES, requiredStores } from '../conformance/stores.js';
import { OpenApiValidator } from '../support/openapi-validator.js';
import { testSeed } from './harness.js';

const FUZZ_RUNS = 40;
const TOKENS: Record<Scope, string> = { read: 'fuzz-read-token-0001', submit: 'fuzz-submit-token-0002', admin: 'fuzz-admin-token-0003' };
const AUTH = apiAuthOf({ apiAuth: 'tokens', apiTokensRead: TOKENS.read, apiTokensSubmit: TOKENS.submit, apiTokensAdmin: TOKENS.admin });

/** A token as sent: a scope's, a wrong one, or none. */
type TokenChoice = Scope | 'wrong' | 'none';

/** A path parameter: a random string, or (by index) an id an earlier request was given. */
type Param = { readonly raw: string } | { readonly known: number };

interface FuzzRequest {
  /** `METHOD url` of the route table (a name, so a counterexample prints short). */
  readonly route: string;
  readonly token: TokenChoice;
  readonly param: Param;
  readonly query: readonly (readonly [string, string])[];
  readonly body: { readonly json: unknown } | { readonly text: string } | null;
  readonly contentType: string | undefined;
}

const jsonish = fc.jsonValue({ maxDepth: 3 });
const idempotencyKey = fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined });

/** Valid submissions of every registered type, with the optional fields in range. */
const validSubmission = fc
  .tuple(
    fc.oneof(
      fc.record({ type: fc.constant('echo'), args: jsonish }, { requiredKeys: ['type'] }),
      fc.record({ type: fc.constant('sleep'), args: fc.record({ ms: fc.integer({ min: 0, max: 100_000 }) }) }),
      fc.record({ type: fc.constant('fail'), args: fc.record({ times: fc.integer({ min: 0, max: 3 }) }, { requiredKeys: [] }) }, { requiredKeys: ['type'] }),
      fc.record({ type: fc.constant('email.send'), args: fc.record({ to: fc.constant('a@b.example'), subject: fc.string({ maxLength: 5 }) }) }),
    ),
    fc.record(
      {
        priority: fc.integer({ min: -3, max: 3 }),
        max_retries: fc.integer({ min: 0, max: 25 }),
        idempotency_key: fc.constantFrom('k1', 'k2', 'k3'),
        metadata: fc.dictionary(fc.string({ maxLength: 4 }), jsonish, { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
  )
  .map(([step, fields]) => ({ ...step, ...fields }));

/** Submissions that are nearly valid: real types with fitting or unfitting args and fields. */
const nearlyValid = fc.record(
  {
    type: fc.oneof(fc.constantFrom('echo', 'sleep', 'fail', 'email.send'), fc.string({ maxLength: 12 })),
    args: fc.oneof(
      fc.record({ ms: fc.integer({ min: -5, max: 100_000 }) }),
      fc.record({ times: fc.integer({ min: -1, max: 3 }) }, { requiredKeys: [] }),
      fc.record({ to: fc.constantFrom('a@b.example', 'not-an-email'), subject: fc.string({ maxLength: 5 }) }),
      jsonish,
    ),
    priority: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(null), fc.double()),
    max_retries: fc.oneof(fc.integer({ min: -1, max: 30 }), fc.constant(null)),
    idempotency_key: idempotencyKey,
    metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), jsonish, { maxKeys: 2 }), fc.constant(null), jsonish),
    delay_ms: fc.integer({ min: -1, max: 10 }),
    bogus: fc.constant(1),
  },
  { requiredKeys: ['type'] },
);

const submission = fc.oneof(validSubmission, nearlyValid);

const body: fc.Arbitrary<FuzzRequest['body']> = fc.oneof(
  { weight: 4, arbitrary: submission.map((json) => ({ json })) },
  { weight: 2, arbitrary: fc.array(validSubmission, { maxLength: 4 }).map((steps) => ({ json: { steps } })) },
  { weight: 1, arbitrary: fc.array(submission, { maxLength: 4 }).map((steps) => ({ json: { steps } })) },
  { weight: 1, arbitrary: fc.record({ force: fc.oneof(fc.boolean(), jsonish), dry_run: fc.boolean() }, { requiredKeys: [] }).map((json) => ({ json })) },
  { weight: 1, arbitrary: jsonish.map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const param: fc.Arbitrary<Param> = fc.oneof(
  { weight: 3, arbitrary: fc.nat(20).map((known) => ({ known })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }).map((raw) => ({ raw })) },
  { weight: 1, arbitrary: fc.string({ minLength: 95, maxLength: 140 }).map((raw) => ({ raw })) },
  { weight: 1, arbitrary: fc.constantFrom('%zz', '%00', '..', 'step_', '%E0%A4%A').map((raw) => ({ raw: `\u0000${raw}` })) },
);

const query = fc.array(
  fc.tuple(
    fc.constantFrom('limit', 'offset', 'history', 'x'),
    fc.oneof(fc.integer({ min: -2, max: 600 }).map(String), fc.constantFrom('true', 'TRUE', 'no', '1e2', '', ' 5', '0x10'), fc.string({ maxLength: 6 })),
  ),
  { maxLength: 3 },
);

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  // Submits are where the state comes from: drawn several times as often as the other routes.
  route: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('POST /submit', 'POST /submit/batch') },
    { weight: 4, arbitrary: fc.constantFrom(...ROUTES.map((r) => `${r.method} ${r.url}`)) },
  ),
  token: fc.constantFrom<TokenChoice>('admin', 'admin', 'submit', 'read', 'wrong', 'none'),
  param,
  query,
  body,
  contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
});

/** The URL of `req`, with ids of earlier answers where the parameter says so. */
function routeOf(req: FuzzRequest): RouteSpec {
  return ROUTES.find((r) => `${r.method} ${r.url}` === req.route)!;
}

function urlOf(req: FuzzRequest, ids: readonly string[]): string {
  const value =
    'known' in req.param
      ? (ids[req.param.known % Math.max(ids.length, 1)] ?? 'step_none')
      : req.param.raw.startsWith('\u0000')
        ? req.param.raw.slice(1) // deliberately malformed escapes, sent as they are
        : encodeURIComponent(req.param.raw);
  const path = routeOf(req).url.replace(/:[A-Za-z_]+/, value === '' ? '%20' : value);
  const qs = req.query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return qs === '' ? path : `${path}?${qs}`;
}

function neededScope(route: RouteSpec): Scope | null {
  if (route.access === 'open') return null;
  return route.access === 'metrics' ? 'read' : route.access;
}

const required = requiredStores();

for (const factory of STORE_FACTORIES) {
  const availability = await factory.available();
  describe.skipIf(availability !== true && !required.has(factory.name))(`HTTP fuzz on ${factory.name}`, () => {
    it('answers every request below 500, as documented, by scope, and stores exactly what it accepted', { timeout: 240_000 }, async () => {
      expect(availability, `store ${factory.name} is required`).toBe(true);
      const seed = testSeed();
      let requests = 0;
      /** Statuses seen over the whole run, so a generator that stopped reaching a case shows. */
      const seen = new Set<number>();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (sequence) => {
            const opened = await factory.open(POLICY);
            const app = await buildApp({ store: opened.store, registry, defaults: DEFAULTS, auth: AUTH });
            try {
              const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as unknown;
              const validator = new OpenApiValidator(doc);
              /** Step id → its type, for every step an answer said was created. */
              const created = new Map<string, string>();
              for (const req of sequence) {
                requests += 1;
                const route = routeOf(req);
                const url = urlOf(req, [...created.keys()]);
                const payload = req.body === null ? undefined : 'json' in req.body ? JSON.stringify(req.body.json) : req.body.text;
                const headers: Record<string, string> = {};
                if (req.token === 'wrong') headers['authorization'] = 'Bearer fuzz-wrong-token-9999';
                else if (req.token !== 'none') headers['authorization'] = `Bearer ${TOKENS[req.token]}`;
                if (req.contentType !== undefined && payload !== undefined) headers['content-type'] = req.contentType;
                const res = await app.inject({ method: route.method, url, headers, ...(payload === undefined ? {} : { payload }) });
                seen.add(res.statusCode);
                const what = `${route.method} ${url} [${req.token}] ${payload ?? ''} → ${res.statusCode} ${res.body.slice(0, 300)}`;

                // An app without a pod is `starting` by design (DESIGN §5); nothing else may reach 5xx.
                if (route.url === '/health') expect([200, 503], what).toContain(res.statusCode);
                else expect(res.statusCode, what).toBeLessThan(500);
                const isJson = String(res.headers['content-type'] ?? '').startsWith('application/json');
                if (res.statusCode >= 400 || isJson) {
                  expect(validator.problems(route.method, route.url, res.statusCode, res.json()), what).toEqual([]);
                }
                const needed = neededScope(route);
                if (res.statusCode === 401) expect(needed !== null && (req.token === 'wrong' || req.token === 'none'), what).toBe(true);
                if (res.statusCode === 403 && res.json().error_type === 'permission_denied') {
                  expect(needed !== null && req.token !== 'wrong' && req.token !== 'none' && !scopeIncludes(req.token, needed), what).toBe(true);
                }
                if (res.statusCode < 300 && needed !== null) {
                  expect(req.token !== 'wrong' && req.token !== 'none' && scopeIncludes(req.token, needed), what).toBe(true);
                }

                const answer = res.statusCode < 300 && isJson ? (res.json() as Record<string, unknown>) : undefined;
                if (route.url === '/submit' && answer !== undefined) {
                  const type = (JSON.parse(payload!) as { type: string }).type;
                  if (res.statusCode === 201) {
                    expect(created.has(answer['step_id'] as string), what).toBe(false);
                    created.set(answer['step_id'] as string, type);
                  } else {
                    expect(answer['status'], what).toBe('duplicate');
                    expect(created.get(answer['step_id'] as string), what).toBe(type);
                  }
                }
                if (route.url === '/submit/batch' && answer !== undefined) {
                  const steps = (JSON.parse(payload!) as { steps: { type: string }[] }).steps;
                  const ids = answer['step_ids'] as string[];
                  expect(ids.length, what).toBe(steps.length);
                  ids.forEach((id, i) => {
                    expect(created.has(id), what).toBe(false);
                    created.set(id, steps[i]!.type);
                  });
                }
                // Nothing runs steps here, so nothing is ever dead-lettered and no replay can succeed.
                if (route.url === '/admin/dlq/:step_id/replay') expect(res.statusCode, what).not.toBe(200);
              }

              // The database holds exactly what the accepted requests created, and wrote nothing else.
              const stats = await opened.store.queueStats();
              expect([stats.pending, stats.claimed, stats.completed, stats.failed]).toEqual([created.size, 0, 0, 0]);
              for (const [stepId, type] of created) {
                const row = await opened.store.stepGet({ stepId });
                expect(row?.type, stepId).toBe(type);
              }
              const events = await opened.store.eventList({});
              expect(events.map((e) => e.kind).filter((k) => k !== 'submitted')).toEqual([]);
              expect(new Set(events.map((e) => e.stepId))).toEqual(new Set(created.keys()));
            } finally {
              await app.close();
              await opened.cleanup();
            }
          }),
          { seed, numRuns: FUZZ_RUNS },
        );
      } catch (err) {
        const cause = err instanceof Error && err.cause !== undefined ? `\n${String(err.cause)}` : '';
        throw new Error(`HTTP fuzz failed on ${factory.name} with FLEET_Q_TEST_SEED=${seed}\n${String(err)}${cause}`, { cause: err });
      }
      expect(requests).toBeGreaterThanOrEqual(FUZZ_RUNS);
      expect([...seen].sort()).toEqual(expect.arrayContaining([200, 201, 400, 401, 403, 404, 415]));
    });
  });
}
