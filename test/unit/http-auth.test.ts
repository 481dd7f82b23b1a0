/**
 * Bearer tokens with scopes (admin ⊃ submit ⊃ read) on a real app over a real SQLite store: every
 * route of the route table answers 401 without a valid token, 403 with a weaker one and passes the
 * guard with its own scope; open routes stay open; FLEET_Q_METRICS_PUBLIC opens /metrics; and the
 * start-up rule refuses an API bound beyond loopback without tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { apiAuthOf, assertApiExposureAllowed, isLoopbackHost, type Scope } from '../../src/http/auth.js';
import { ROUTES } from '../../src/http/routes.js';
import { ERROR_KEYS, FakePod, ISO_UTC, openTestApi, type TestApi } from './http-fixture.js';

const TOKENS = { read: 'read-token-aaaaaaaaaaaa', submit: 'submit-token-bbbbbbbbbb', admin: 'admin-token-cccccccccccc' };
const AUTH_CONFIG = {
  apiAuth: 'tokens' as const,
  apiTokensRead: ` ${TOKENS.read} ,other-read-token-dddd`,
  apiTokensSubmit: TOKENS.submit,
  apiTokensAdmin: TOKENS.admin,
};

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** A concrete URL of `route`: an unknown step id, and the first file a `:file` route serves. */
function urlOf(route: (typeof ROUTES)[number]): string {
  const files = (route.params?.shape as { file?: { options?: readonly string[] } } | undefined)?.file?.options;
  return route.url.replace(':step_id', 'step_unknown').replace(':file', files?.[0] ?? 'unknown');
}

function call(route: (typeof ROUTES)[number], token?: string) {
  return api!.app.inject({
    method: route.method,
    url: urlOf(route),
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(route.method === 'POST' ? { payload: '{}' } : {}),
  });
}

const RANK: Record<Scope, number> = { read: 0, submit: 1, admin: 2 };

describe('scopes by route', () => {
  const guarded = ROUTES.filter((r) => r.access !== 'open');
  it.each(guarded.map((r) => [`${r.method} ${r.url}`, r] as const))(
    '%s: 401 without a valid token, 403 below its scope, through at or above it',
    async (_name, route) => {
      api = await openTestApi({ pod: new FakePod(), app: { auth: apiAuthOf(AUTH_CONFIG) } });
      const needed: Scope = route.access === 'metrics' ? 'read' : (route.access as Scope);
      for (const token of [undefined, 'not-a-configured-token-x', `${TOKENS.admin}x`]) {
        const res = await call(route, token);
        expect(res.statusCode, String(token)).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="fleet-q"');
        expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
        expect(res.json()).toMatchObject({ error_type: 'unauthorized', path: urlOf(route).split('?')[0], timestamp: expect.stringMatching(ISO_UTC) });
        expect(res.headers['x-request-id']).toEqual(expect.any(String));
      }
      for (const scope of ['read', 'submit', 'admin'] as const) {
        const res = await call(route, TOKENS[scope]);
        if (RANK[scope] < RANK[needed]) {
          expect(res.statusCode, scope).toBe(403);
          expect(res.json()).toMatchObject({ error_type: 'permission_denied' });
          expect(res.json().detail).toContain(needed);
        } else {
          expect([401, 403], `${scope} on ${route.url}: ${res.body}`).not.toContain(res.statusCode);
        }
      }
    },
  );

  it.each(ROUTES.filter((r) => r.access === 'open').map((r) => [`${r.method} ${r.url}`, r] as const))('%s is open', async (_name, route) => {
    api = await openTestApi({ pod: new FakePod(), app: { auth: apiAuthOf(AUTH_CONFIG) } });
    expect([200, 503]).toContain((await call(route)).statusCode);
  });

  it('the second token of a list works, spaces around commas ignored; the bearer scheme in any case', async () => {
    api = await openTestApi({ app: { auth: apiAuthOf(AUTH_CONFIG) } });
    const ok = (authorization: string) => api!.app.inject({ method: 'GET', url: '/admin/queue', headers: { authorization } });
    expect((await ok('Bearer other-read-token-dddd')).statusCode).toBe(200);
    expect((await ok(`bearer ${TOKENS.read}`)).statusCode).toBe(200);
    expect((await ok(`Basic ${Buffer.from(`x:${TOKENS.admin}`).toString('base64')}`)).statusCode).toBe(401);
    expect((await ok(`Bearer ${TOKENS.read} extra`)).statusCode).toBe(401);
  });

  it('GET /metrics is open with FLEET_Q_METRICS_PUBLIC=true, the rest still guarded', async () => {
    api = await openTestApi({ app: { auth: apiAuthOf(AUTH_CONFIG), metricsPublic: true } });
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    expect((await api.app.inject({ method: 'GET', url: '/admin/queue' })).statusCode).toBe(401);
  });

  it('without tokens, or with FLEET_Q_API_AUTH=none, every route is open', async () => {
    for (const auth of [
      apiAuthOf({ apiAuth: 'tokens', apiTokensRead: undefined, apiTokensSubmit: ' , ', apiTokensAdmin: undefined }),
      apiAuthOf({ ...AUTH_CONFIG, apiAuth: 'none' }),
    ]) {
      expect(auth.enabled).toBe(false);
      api = await openTestApi({ app: { auth } });
      expect((await api.app.inject({ method: 'GET', url: '/admin/queue' })).statusCode).toBe(200);
      await api.close();
      api = undefined;
    }
  });

  it('an admin token listed under read too keeps its highest scope', () => {
    const auth = apiAuthOf({ apiAuth: 'tokens', apiTokensRead: TOKENS.admin, apiTokensSubmit: undefined, apiTokensAdmin: TOKENS.admin });
    expect(auth.scopeOf(`Bearer ${TOKENS.admin}`)).toBe('admin');
    expect(auth.scopeOf(undefined)).toBeNull();
  });

  it('a route missing from the route table cannot be registered', async () => {
    api = await openTestApi();
    expect(() => api!.app.get('/unlisted', async () => 'x')).toThrow(/not in src\/http\/routes\.ts/);
  });
});

describe('request ids', () => {
  it('keeps a plain x-request-id and answers it back; replaces anything else with a fresh id', async () => {
    api = await openTestApi();
    const kept = await api.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'lb-1234.abc' } });
    expect(kept.headers['x-request-id']).toBe('lb-1234.abc');
    const replaced = await api.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'bad id\u0000{}' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('start-up exposure rule', () => {
  const base = { apiAuth: 'tokens' as const, apiTokensRead: undefined, apiTokensSubmit: undefined, apiTokensAdmin: undefined };

  it('refuses a non-loopback host without tokens, naming FLEET_Q_API_HOST', () => {
    for (const apiHost of ['0.0.0.0', '::', '10.1.2.3', 'fleet.example']) {
      let thrown: unknown;
      try {
        assertApiExposureAllowed({ ...base, apiHost });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, apiHost).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).errors?.[0]?.loc).toBe('FLEET_Q_API_HOST');
      expect((thrown as ConfigError).message).toContain('FLEET_Q_API_AUTH=none');
    }
  });

  it('allows loopback without tokens, any host with tokens, and any host with FLEET_Q_API_AUTH=none', () => {
    for (const apiHost of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.3.4.5']) {
      expect(isLoopbackHost(apiHost), apiHost).toBe(true);
      expect(() => assertApiExposureAllowed({ ...base, apiHost })).not.toThrow();
    }
    expect(() => assertApiExposureAllowed({ ...base, apiHost: '0.0.0.0', apiTokensAdmin: TOKENS.admin })).not.toThrow();
    expect(() => assertApiExposureAllowed({ ...base, apiHost: '0.0.0.0', apiAuth: 'none' })).not.toThrow();
  });
});

describe('token configuration', () => {
  it('refuses short or spaced tokens naming the variable and the position, never the value', () => {
    let thrown: unknown;
    try {
      loadConfig({ FLEET_Q_API_TOKENS_READ: 'ok-token-0123456789abc,short-secret', FLEET_Q_API_TOKENS_ADMIN: 'has a space inside it!!' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.errors?.map((e) => e.loc)).toEqual(['FLEET_Q_API_TOKENS_READ', 'FLEET_Q_API_TOKENS_ADMIN']);
    expect(error.errors?.[0]?.msg).toContain('token 2');
    expect(error.message).not.toContain('short-secret');
    expect(error.message).not.toContain('space inside');
  });

  it('refuses tokens together with FLEET_Q_API_AUTH=none', () => {
    expect(() => loadConfig({ FLEET_Q_API_AUTH: 'none', FLEET_Q_API_TOKENS_SUBMIT: TOKENS.submit })).toThrow(/FLEET_Q_API_TOKENS_SUBMIT/);
  });

  it('logs tokens as ***', async () => {
    const { redactConfig } = await import('../../src/config/config.js');
    const view = redactConfig(loadConfig({ FLEET_Q_API_TOKENS_ADMIN: TOKENS.admin }));
    expect(view['FLEET_Q_API_TOKENS_ADMIN']).toBe('***');
    expect(JSON.stringify(view)).not.toContain(TOKENS.admin);
  });
});
