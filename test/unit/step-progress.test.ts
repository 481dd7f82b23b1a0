/**
 * `ctx.progress` rate limiting (src/pod/step-progress.ts) over a real SQLite store: a burst of values
 * costs one write at once and one more for the latest value after the interval; a value the store
 * would refuse throws at the call; nothing is written after the attempt ends; a write that finds the
 * step cancelled tells the runtime.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { ProgressWriter } from '../../src/pod/step-progress.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { ClaimRef, Store } from '../../src/store/store.js';
import { waitFor } from '../support/wait.js';

const POLICY = { baseDelayMs: 10, maxDelayMs: 100, deadPodThresholdMs: 60_000, maxReleases: 3 };
const INTERVAL_MS = 300;

let store: SqliteStore;
let ref: ClaimRef;
let writes: number;
/** The real store, counting progress writes. */
let counting: Pick<Store, 'stepProgress'>;

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:', policy: POLICY });
  await store.migrate();
  await store.podRegister({ podId: 'alpha-00000001', name: 'alpha', meta: { max_parallelism: 1, capacity: 1, in_flight: 0, version: 't', host: 'h' } });
  const { stepId } = await store.stepSubmit({ type: 'echo', args: {}, maxRetries: 0, timeoutMs: 60_000 });
  const [row] = await store.stepClaim({ podId: 'alpha-00000001', types: ['echo'], limit: 1 });
  ref = { stepId, podId: 'alpha-00000001', attempt: row!.attempt };
  writes = 0;
  counting = { stepProgress: (p) => (writes++, store.stepProgress(p)) };
});
afterEach(async () => {
  await store.close();
});

it('writes the first value at once and then only the latest, at most once per interval', async () => {
  const writer = new ProgressWriter(counting, ref, () => undefined, undefined, INTERVAL_MS);
  const started = Date.now();
  for (let i = 1; i <= 100; i++) writer.report({ i });
  await waitFor('first write', async () => (await store.stepGet({ stepId: ref.stepId }))?.progress !== null);
  expect((await store.stepGet({ stepId: ref.stepId }))!.progress).toEqual({ i: 1 });
  await waitFor('latest write', async () => JSON.stringify((await store.stepGet({ stepId: ref.stepId }))?.progress) === '{"i":100}', 5_000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(INTERVAL_MS - 5);
  expect(writes).toBe(2);
  writer.close();
});

it('refuses a value the store would refuse at the call, and writes nothing after close', async () => {
  const writer = new ProgressWriter(counting, ref, () => undefined, undefined, INTERVAL_MS);
  expect(() => writer.report('x'.repeat(5_000))).toThrow(ValidationError);
  writer.report('first');
  writer.report('dropped');
  writer.close();
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 2));
  expect(writes).toBe(1);
  expect((await store.stepGet({ stepId: ref.stepId }))!.progress).toBe('first');
});

it('tells the runtime when its write finds the step cancelled', async () => {
  await store.stepCancel({ stepId: ref.stepId });
  let cancelled = 0;
  const writer = new ProgressWriter(counting, ref, () => cancelled++, undefined, INTERVAL_MS);
  writer.report({ i: 1 });
  await waitFor('cancel heard', () => cancelled === 1);
  expect((await store.eventList({ stepId: ref.stepId })).map((e) => e.kind)).toEqual(['submitted', 'claimed', 'cancelled', 'stale_write_rejected']);
  writer.close();
});
