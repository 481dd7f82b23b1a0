/**
 * Producer routes over a real SQLite store: POST /submit, POST /submit/batch, GET /status/:step_id,
 * GET /idempotency/:step_id — bodies, status codes, and that every refused submit writes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { counts, ERROR_KEYS, ISO_UTC, openTestApi, type TestApi } from './http-fixture.js';

let api: TestApi;
beforeEach(async () => {
  api = await openTestApi();
});
afterEach(async () => {
  await api.close();
});

async function submit(payload: unknown) {
  return api.app.inject({ method: 'POST', url: '/submit', payload: payload as object });
}

describe('POST /submit', () => {
  it('takes a deadline as an ISO time with a zone, stores it as that instant, and shows it in /status', async () => {
    const res = await submit({ type: 'echo', args: {}, deadline: '2030-05-01T12:00:00+02:00' });
    expect(res.statusCode).toBe(201);
    const id = res.json().step_id;
    expect((await api.store.stepGet({ stepId: id }))?.deadline).toBe(Date.UTC(2030, 4, 1, 10));
    expect((await api.app.inject({ method: 'GET', url: `/status/${id}` })).json().deadline).toBe('2030-05-01T10:00:00.000Z');
  });

  it('refuses a deadline that is not an ISO time with a zone, naming the field and writing nothing', async () => {
    for (const deadline of ['tomorrow', '2030-05-01T12:00:00', 1_900_000_000_000]) {
      const res = await submit({ type: 'echo', args: {}, deadline });
      expect(res.statusCode, String(deadline)).toBe(400);
      expect(new Set(res.json().errors.map((e: { loc: string }) => e.loc))).toEqual(new Set(['deadline']));
    }
    expect(await api.store.stepList({ limit: 10, offset: 0 })).toEqual([]);
  });

  it('answers 201 with the new step id and stores a pending step', async () => {
    const res = await submit({ type: 'echo', args: { hello: 'world' }, metadata: { source: 'test' }, priority: 7 });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['message', 'status', 'step_id']);
    expect(body.status).toBe('submitted');
    expect(body.step_id).toMatch(/^step_/);
    expect(body.message).toContain(body.step_id);
    const row = await api.store.stepGet({ stepId: body.step_id });
    expect(row).toMatchObject({ status: 'pending', type: 'echo', args: { hello: 'world' }, priority: 7, maxRetries: 3, timeoutMs: 900_000 });
  });

  it('resolves max_retries: submit, then the step type, then the configured default', async () => {
    const fromType = (await submit({ type: 'email.send', args: { to: 'a@b.co', subject: 'hi' } })).json().step_id;
    const fromSubmit = (await submit({ type: 'email.send', args: { to: 'a@b.co', subject: 'hi' }, max_retries: 0, timeout_ms: 50 })).json().step_id;
    expect((await api.store.stepGet({ stepId: fromType }))?.maxRetries).toBe(5);
    expect(await api.store.stepGet({ stepId: fromSubmit })).toMatchObject({ maxRetries: 0, timeoutMs: 50 });
  });

  it("takes optional fields sent as null (a Python client's None) as not sent", async () => {
    const res = await submit({ type: 'echo', args: { a: 1 }, metadata: null, priority: null, max_retries: null, timeout_ms: null, idempotency_key: null });
    expect(res.statusCode).toBe(201);
    const row = await api.store.stepGet({ stepId: res.json().step_id });
    expect(row).toMatchObject({ metadata: {}, priority: 0, maxRetries: 3, timeoutMs: 900_000, idempotencyKey: null });
  });

  it('answers 200 duplicate for a repeated idempotency key with identical args, writing nothing', async () => {
    const first = await submit({ type: 'echo', args: { a: 1, b: [1, 2] }, idempotency_key: 'order-42' });
    expect(first.statusCode).toBe(201);
    const before = await counts(api.store);
    const again = await submit({ type: 'echo', args: { b: [1, 2], a: 1 }, idempotency_key: 'order-42' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ step_id: first.json().step_id, status: 'duplicate', message: expect.any(String) });
    expect(await counts(api.store)).toEqual(before);
  });

  it('answers 409 conflict for a repeated idempotency key with different args, writing nothing', async () => {
    await submit({ type: 'echo', args: { a: 1 }, idempotency_key: 'order-42' });
    const before = await counts(api.store);
    const res = await submit({ type: 'echo', args: { a: 2 }, idempotency_key: 'order-42' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error_type: 'conflict', path: '/submit' });
    expect(await counts(api.store)).toEqual(before);
  });

  it('refuses an unknown type with 400 validation_error naming the field', async () => {
    const res = await submit({ type: 'no.such.type', args: {} });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual([...ERROR_KEYS, 'errors'].sort());
    expect(body.error_type).toBe('validation_error');
    expect(body.errors).toEqual([{ loc: 'type', msg: expect.stringContaining('unknown step type') }]);
    expect(await counts(api.store)).toEqual({ pending: 0, claimed: 0, completed: 0, failed: 0, events: 0 });
  });

  it('refuses args failing the type schema, field by field, writing nothing', async () => {
    const res = await submit({ type: 'email.send', args: { to: 'not-an-email', subject: 'x'.repeat(101) } });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .errors.map((e: { loc: string }) => e.loc)
        .sort(),
    ).toEqual(['args.subject', 'args.to']);
    expect(await counts(api.store)).toEqual({ pending: 0, claimed: 0, completed: 0, failed: 0, events: 0 });
  });

  it.each([
    ['an unknown field', { type: 'echo', args: {}, colour: 'red' }],
    ['a non-integer priority', { type: 'echo', args: {}, priority: 1.5 }],
    ['max_retries over 25', { type: 'echo', args: {}, max_retries: 26 }],
    ['an array body', [{ type: 'echo' }]],
    ['a string body', 'echo'],
  ])('refuses %s with 400 and writes nothing', async (_name, payload) => {
    const res = await api.app.inject({ method: 'POST', url: '/submit', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_type).toBe('validation_error');
    expect((await counts(api.store)).events).toBe(0);
  });

  it('refuses a missing body with 400', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/submit' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_type).toBe('validation_error');
  });
});

describe('GET /status/:step_id', () => {
  it('answers every field of DESIGN §5 with ISO-8601 UTC times', async () => {
    const id = (await submit({ type: 'echo', args: { x: 1 }, metadata: { m: true }, priority: 2 })).json().step_id;
    const res = await api.app.inject({ method: 'GET', url: `/status/${id}` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(
      [
        'attempt',
        'claimed_by',
        'created_ts',
        'deadline',
        'last_error',
        'last_update_ts',
        'max_retries',
        'payload',
        'priority',
        'progress',
        'result',
        'retry_count',
        'status',
        'step_id',
      ].sort(),
    );
    expect(body).toMatchObject({
      step_id: id,
      status: 'pending',
      claimed_by: null,
      retry_count: 0,
      priority: 2,
      max_retries: 3,
      payload: { type: 'echo', args: { x: 1 }, metadata: { m: true } },
      attempt: 0,
      last_error: null,
      result: null,
    });
    expect(body.created_ts).toMatch(ISO_UTC);
    expect(body.last_update_ts).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(body.created_ts) - Date.now())).toBeLessThan(60_000);
  });

  it('adds the audit trail with ?history=true', async () => {
    const id = (await submit({ type: 'echo', args: {} })).json().step_id;
    const body = (await api.app.inject({ method: 'GET', url: `/status/${id}?history=true` })).json();
    // Each event carries the columns of step_events, step_id included.
    expect(body.history).toEqual([
      {
        event_id: expect.any(Number),
        step_id: id,
        ts: expect.stringMatching(ISO_UTC),
        kind: 'submitted',
        pod_id: null,
        attempt: 0,
        detail: { priority: 0, max_retries: 3 },
      },
    ]);
    const plain = (await api.app.inject({ method: 'GET', url: `/status/${id}?history=false` })).json();
    expect(plain).not.toHaveProperty('history');
  });

  it('takes the boolean spellings a Python client sends (True, 1, yes; False, 0, no)', async () => {
    const id = (await submit({ type: 'echo', args: {} })).json().step_id;
    for (const value of ['True', 'TRUE', '1', 'yes', 'on']) {
      const res = await api.app.inject({ method: 'GET', url: `/status/${id}?history=${value}` });
      expect(res.statusCode, `history=${value}`).toBe(200);
      expect(res.json(), `history=${value}`).toHaveProperty('history');
    }
    for (const value of ['False', '0', 'no', 'off']) {
      const res = await api.app.inject({ method: 'GET', url: `/status/${id}?history=${value}` });
      expect(res.statusCode, `history=${value}`).toBe(200);
      expect(res.json(), `history=${value}`).not.toHaveProperty('history');
    }
  });

  it('refuses a history value that is no boolean', async () => {
    const id = (await submit({ type: 'echo', args: {} })).json().step_id;
    for (const query of ['history=maybe', 'history=', 'history']) {
      const res = await api.app.inject({ method: 'GET', url: `/status/${id}?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ error_type: 'validation_error', path: `/status/${id}` });
    }
  });

  it('answers 404 not_found for an unknown id', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/status/step_NOPE' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error_type: 'not_found', path: '/status/step_NOPE', detail: expect.stringContaining('step_NOPE') });
  });
});

describe('GET /idempotency/:step_id', () => {
  it('answers the submitted key, or the step id when none was given', async () => {
    const keyed = (await submit({ type: 'echo', args: {}, idempotency_key: 'k-1' })).json().step_id;
    const unkeyed = (await submit({ type: 'echo', args: {} })).json().step_id;
    expect((await api.app.inject({ method: 'GET', url: `/idempotency/${keyed}` })).json()).toEqual({ step_id: keyed, idempotency_key: 'k-1' });
    expect((await api.app.inject({ method: 'GET', url: `/idempotency/${unkeyed}` })).json()).toEqual({ step_id: unkeyed, idempotency_key: unkeyed });
  });

  it('answers 404 for an unknown id', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/idempotency/step_NOPE' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error_type).toBe('not_found');
  });
});

describe('POST /submit/batch', () => {
  it('answers 201 with the ids in submitted order', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/submit/batch',
      payload: {
        steps: [
          { type: 'echo', args: { i: 0 } },
          { type: 'sleep', args: { ms: 1 } },
          { type: 'echo', args: { i: 2 }, priority: 9 },
        ],
      },
    });
    expect(res.statusCode).toBe(201);
    const ids: string[] = res.json().step_ids;
    expect(Object.keys(res.json())).toEqual(['step_ids']);
    expect(ids).toHaveLength(3);
    const rows = await Promise.all(ids.map((stepId) => api.store.stepGet({ stepId })));
    expect(rows.map((r) => [r?.type, r?.args, r?.priority])).toEqual([
      ['echo', { i: 0 }, 0],
      ['sleep', { ms: 1 }, 0],
      ['echo', { i: 2 }, 9],
    ]);
  });

  it('refuses the whole batch, listing each failing index, and writes nothing', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/submit/batch',
      payload: { steps: [{ type: 'echo', args: {} }, { type: 'nope' }, { type: 'echo', args: {} }, { type: 'email.send', args: { to: 'x' } }] },
    });
    expect(res.statusCode).toBe(400);
    const locs = res.json().errors.map((e: { loc: string }) => e.loc);
    expect(locs.some((l: string) => l.startsWith('steps.1.'))).toBe(true);
    expect(locs.some((l: string) => l.startsWith('steps.3.'))).toBe(true);
    expect(locs.some((l: string) => l.startsWith('steps.0.') || l.startsWith('steps.2.'))).toBe(false);
    expect((await counts(api.store)).events).toBe(0);
  });

  it.each([
    ['no steps array', { items: [] }],
    ['an empty batch', { steps: [] }],
    [
      'a key repeated within the batch',
      {
        steps: [
          { type: 'echo', args: {}, idempotency_key: 'k' },
          { type: 'echo', args: {}, idempotency_key: 'k' },
        ],
      },
    ],
    ['more than 10,000 steps', { steps: Array.from({ length: 10_001 }, () => ({ type: 'echo' })) }],
  ])('refuses %s with 400', async (_name, payload) => {
    const res = await api.app.inject({ method: 'POST', url: '/submit/batch', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_type).toBe('validation_error');
    expect((await counts(api.store)).events).toBe(0);
  });

  it('answers 409 and writes nothing when one item conflicts with a stored step', async () => {
    await submit({ type: 'echo', args: { v: 1 }, idempotency_key: 'taken' });
    const before = await counts(api.store);
    const res = await api.app.inject({
      method: 'POST',
      url: '/submit/batch',
      payload: {
        steps: [
          { type: 'echo', args: {} },
          { type: 'echo', args: { v: 2 }, idempotency_key: 'taken' },
        ],
      },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error_type).toBe('conflict');
    expect(await counts(api.store)).toEqual(before);
  });

  it('accepts 10,000 steps in a body of nearly 8 MiB', async () => {
    const padding = 'p'.repeat(760);
    const steps = Array.from({ length: 10_000 }, (_, i) => ({ type: 'echo', args: { i, padding } }));
    const payload = JSON.stringify({ steps });
    expect(payload.length).toBeGreaterThan(7.5 * 1024 * 1024);
    expect(payload.length).toBeLessThan(8 * 1024 * 1024);
    const res = await api.app.inject({ method: 'POST', url: '/submit/batch', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(201);
    expect(res.json().step_ids).toHaveLength(10_000);
    expect((await counts(api.store)).pending).toBe(10_000);
  });

  it('refuses a batch body over 8 MiB with 413 and writes nothing', async () => {
    const padding = 'p'.repeat(900);
    const payload = JSON.stringify({ steps: Array.from({ length: 9_500 }, (_, i) => ({ type: 'echo', args: { i, padding } })) });
    expect(payload.length).toBeGreaterThan(8 * 1024 * 1024);
    const res = await api.app.inject({ method: 'POST', url: '/submit/batch', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error_type: 'payload_too_large', path: '/submit/batch' });
    expect((await counts(api.store)).events).toBe(0);
  });
});

describe('POST /steps/:step_id/cancel', () => {
  it('cancels a pending step (200), then refuses it as terminal (409) and an unknown id (404), writing nothing more', async () => {
    const { step_id } = (await submit({ type: 'echo', args: {} })).json();
    const res = await api.app.inject({ method: 'POST', url: `/steps/${step_id}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ step_id, status: 'cancelled', previous_status: 'pending', message: expect.stringContaining(step_id) });
    expect((await api.app.inject({ method: 'GET', url: `/status/${step_id}` })).json()).toMatchObject({ status: 'cancelled', progress: null });
    const events = await api.store.eventList({ stepId: step_id });
    expect(events.map((e) => e.kind)).toEqual(['submitted', 'cancelled']);

    const again = await api.app.inject({ method: 'POST', url: `/steps/${step_id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error_type: 'conflict' });
    const replay = await api.app.inject({ method: 'POST', url: `/admin/dlq/${step_id}/replay` });
    expect(replay.statusCode).toBe(409);
    const unknown = await api.app.inject({ method: 'POST', url: '/steps/step_nope/cancel' });
    expect(unknown.statusCode).toBe(404);
    expect(Object.keys(unknown.json()).sort()).toEqual(ERROR_KEYS);
    expect(await api.store.eventList({ stepId: step_id })).toHaveLength(2);
  });
});
