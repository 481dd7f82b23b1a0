/**
 * The one error shape on every route, fastify's own failures included: unknown routes, wrong content
 * type, bodies over 256 KiB, bad JSON, database failures (503) and unexpected errors (500, no leak).
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { counts, ERROR_KEYS, FakePod, ISO_UTC, openTestApi, type TestApi } from './http-fixture.js';

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function expectErrorShape(body: Record<string, unknown>, errorType: string, path: string): void {
  const keys = Object.keys(body).filter((k) => k !== 'errors');
  expect(keys.sort()).toEqual(ERROR_KEYS);
  expect(body['error_type']).toBe(errorType);
  expect(body['path']).toBe(path);
  expect(typeof body['detail']).toBe('string');
  expect(body['timestamp']).toMatch(ISO_UTC);
  expect(Math.abs(Date.parse(body['timestamp'] as string) - Date.now())).toBeLessThan(60_000);
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at |\.ts:\d+|node_modules/);
}

describe('framework errors', () => {
  it.each([
    ['GET', '/nope'],
    ['POST', '/admin/nothing'],
    ['GET', '/status'],
  ])('%s %s: 404 not_found', async (method, url) => {
    api = await openTestApi();
    const res = await api.app.inject({ method: method as 'GET', url: `${url}?x=1` });
    expect(res.statusCode).toBe(404);
    expectErrorShape(res.json(), 'not_found', url);
  });

  it('DELETE /submit (a known path, another method): 405 with Allow, error_type not_found', async () => {
    api = await openTestApi();
    const res = await api.app.inject({ method: 'DELETE', url: '/submit?x=1' });
    expect(res.statusCode).toBe(405);
    expect(res.headers['allow']).toBe('POST');
    expectErrorShape(res.json(), 'not_found', '/submit');
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'a %s body: 415 unsupported_media_type, nothing written',
    async (contentType) => {
      api = await openTestApi();
      const res = await api.app.inject({ method: 'POST', url: '/submit', headers: { 'content-type': contentType }, payload: 'type=echo' });
      expect(res.statusCode).toBe(415);
      expectErrorShape(res.json(), 'unsupported_media_type', '/submit');
      expect((await counts(api.store)).events).toBe(0);
    },
  );

  it('malformed JSON: 400 validation_error', async () => {
    api = await openTestApi();
    const res = await api.app.inject({ method: 'POST', url: '/submit', headers: { 'content-type': 'application/json' }, payload: '{"type": "echo",' });
    expect(res.statusCode).toBe(400);
    expectErrorShape(res.json(), 'validation_error', '/submit');
    expect(res.json().detail).toMatch(/JSON/);
  });

  it('prototype poisoning in JSON: 400 validation_error', async () => {
    api = await openTestApi();
    const res = await api.app.inject({
      method: 'POST',
      url: '/submit',
      headers: { 'content-type': 'application/json' },
      payload: '{"type": "echo", "args": {"__proto__": {"polluted": true}}}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_type).toBe('validation_error');
  });

  it('a /submit body over 256 KiB: 413 payload_too_large, nothing written', async () => {
    api = await openTestApi();
    const payload = JSON.stringify({ type: 'echo', args: { blob: 'x'.repeat(256 * 1024) } });
    const res = await api.app.inject({ method: 'POST', url: '/submit', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expectErrorShape(res.json(), 'payload_too_large', '/submit');
    expect((await counts(api.store)).events).toBe(0);
  });

  it('a body just under 256 KiB reaches the route (and is refused there for its 64 KiB args limit)', async () => {
    api = await openTestApi();
    const payload = JSON.stringify({ type: 'echo', args: { blob: 'x'.repeat(250 * 1024) } });
    const res = await api.app.inject({ method: 'POST', url: '/submit', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ loc: 'args', msg: expect.stringContaining('limit') }]);
  });

  it('other routes are limited to 256 KiB too', async () => {
    api = await openTestApi();
    const payload = JSON.stringify({ force: true, pad: 'x'.repeat(300 * 1024) });
    const res = await api.app.inject({ method: 'POST', url: '/admin/recovery/run', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json().error_type).toBe('payload_too_large');
  });
});

describe('store and unexpected errors', () => {
  it('a database without the tables: 503 database_error without SQL details', async () => {
    api = await openTestApi({ migrate: false });
    const res = await api.app.inject({ method: 'GET', url: '/admin/queue' });
    expect(res.statusCode).toBe(503);
    expectErrorShape(res.json(), 'database_error', '/admin/queue');
    expect(res.json().detail).not.toMatch(/step_tracker|no such table|sqlite/i);
  });

  it('a database locked by another process past the retry deadline: 503 with Retry-After, nothing written', async () => {
    api = await openTestApi({ store: { busyRetry: { deadlineMs: 150, minDelayMs: 2, maxDelayMs: 10 } } });
    const other = new Database(api.path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const res = await api.app.inject({ method: 'POST', url: '/submit', payload: { type: 'echo', args: {} } });
      expect(res.statusCode).toBe(503);
      expectErrorShape(res.json(), 'database_error', '/submit');
      expect(res.headers['retry-after']).toBe('1');
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    expect((await counts(api.store)).events).toBe(0);
  });

  it('an unexpected error: 500 internal_error whose body reveals nothing of it', async () => {
    const pod = new FakePod();
    pod.health = () => {
      throw new Error('secret connection string postgres://u:hunter2@db');
    };
    api = await openTestApi({ pod });
    const res = await api.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(500);
    expectErrorShape(res.json(), 'internal_error', '/health');
    expect(res.body).not.toMatch(/hunter2|secret/);
  });
});
