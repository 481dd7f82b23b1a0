/**
 * Driver-level faults on the Snowflake store, injected by the emulator's adapter (what the emulator
 * itself cannot show: table locks, the lock-waiter limit 000625, lock timeouts, slow statements, a
 * lost answer). Each case checks that nothing is lost or doubled: every claimed step is held by one
 * pod with one `claimed` event, and every completion is applied once. Faults are scoped to the
 * case's own schema, so cases running at once do not see each other's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { openSnowflakeStore, type SnowflakeStore } from '../../src/store/snowflake/driver.js';
import { StoreError } from '../../src/errors.js';
import { dropSnowflakeSchema, emulatorLogin, emulatorUnavailableReason, emulatorUrl, freshSnowflakeSchema } from '../support/snowflake.js';

const url = emulatorUrl();
const POLICY = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 10, capacity: 10, in_flight: 0, version: 'test', host: 'test' };

interface Fault {
  readonly match: string;
  readonly action: 'error' | 'delay' | 'lose_answer' | 'reset';
  readonly times?: number;
  /** `reset`: how many retries of the same request are cut off too. */
  readonly retries?: number;
  readonly code?: string;
  readonly message?: string;
  readonly delay_ms?: number;
}

async function inject(fault: Fault): Promise<void> {
  const res = await fetch(`${url}/__faults`, { method: 'POST', body: JSON.stringify(fault), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
}

const opened: { store: SnowflakeStore; schema: string }[] = [];
afterEach(async () => {
  for (const { store, schema } of opened.splice(0)) {
    await store.close();
    await dropSnowflakeSchema(url!, schema).catch(() => undefined);
  }
});

async function queueWith(steps: number): Promise<{ store: SnowflakeStore; schema: string; ids: string[] }> {
  const schema = freshSnowflakeSchema();
  const store = await openSnowflakeStore({ login: emulatorLogin(url!), schema, policy: POLICY, poolSize: 2 });
  opened.push({ store, schema });
  await store.migrate();
  await store.podRegister({ podId: 'pod-0000000a', name: 'pod', meta: META });
  const { results } = await store.stepSubmitBatch({
    steps: Array.from({ length: steps }, (_, i) => ({ type: 'echo', args: { i }, maxRetries: 3, timeoutMs: 60_000 })),
  });
  return { store, schema, ids: results.map((r) => r.stepId) };
}

/** Every step claimed at most once, each claim with exactly one `claimed` event. */
async function expectClaimedOnce(store: SnowflakeStore, claimed: readonly string[]): Promise<void> {
  expect(new Set(claimed).size).toBe(claimed.length);
  const events = (await store.eventList({})).filter((e) => e.kind === 'claimed');
  expect(events.map((e) => e.stepId).sort()).toEqual([...claimed].sort());
  expect((await store.queueStats()).claimed).toBe(claimed.length);
}

if (url === undefined && !requiredStores().has('snowflake')) {
  console.warn(`Snowflake fault tests not run: ${emulatorUnavailableReason()}`);
  describe.skip(`Snowflake faults (not run: ${emulatorUnavailableReason()})`, () => it('runs', () => undefined));
} else {
  describe('Snowflake store under injected faults', { timeout: 120_000 }, () => {
    it('retries a claim refused by the lock-waiter limit (000625) and claims each step once', async () => {
      const { store, schema } = await queueWith(6);
      await inject({
        match: `^UPDATE ${schema}\\.STEP_TRACKER SET STATUS = 'claimed'`,
        action: 'error',
        code: '000625',
        times: 2,
        message: `Statement has locked table 'STEP_TRACKER'... aborted because the number of waiters for this lock exceeds the 20 statements limit.`,
      });
      const rows = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 4 });
      expect(rows).toHaveLength(4);
      await expectClaimedOnce(
        store,
        rows.map((r) => r.stepId),
      );
    });

    it('retries a completion aborted by a lock timeout and applies it once', async () => {
      const { store, schema } = await queueWith(3);
      const rows = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 3 });
      await inject({
        match: `^UPDATE ${schema}\\.STEP_TRACKER t SET STATUS = 'completed'`,
        action: 'error',
        code: '000630',
        times: 1,
        message: 'Statement reached its statement or warehouse timeout of 10 second(s) and was canceled (lock wait).',
      });
      const outcomes = await store.stepCompleteMany({ items: rows.map((r) => ({ stepId: r.stepId, podId: 'pod-0000000a', attempt: 1, result: r.stepId })) });
      expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'completed', 'completed']);
      const completed = (await store.eventList({})).filter((e) => e.kind === 'completed');
      expect(completed.map((e) => e.stepId).sort()).toEqual(rows.map((r) => r.stepId).sort());
    });

    it('surfaces a SQL compilation error at once as fatal, writing nothing', async () => {
      const { store, schema } = await queueWith(2);
      await inject({
        match: `^UPDATE ${schema}\\.STEP_TRACKER SET STATUS = 'claimed'`,
        action: 'error',
        code: '001003',
        times: 1,
        message: 'SQL compilation error: syntax error',
      });
      const started = Date.now();
      const err = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).errorClass).toBe('fatal');
      expect(Date.now() - started).toBeLessThan(5_000);
      await expectClaimedOnce(store, []);
    });

    // The claim's UPDATE meets a fault once: its answer lost (the retried request gets the first
    // answer), the connection reset (the retry gets the claim's answer), or reset on every attempt
    // (the claim is read back by its token on a new session). Every case: each step claimed once,
    // none stranded.
    it.each<[string, Omit<Fault, 'match'>]>([
      ['a claim whose answer is lost', { action: 'lose_answer', times: 1 }],
      ['a connection reset mid-claim', { action: 'reset', times: 1, retries: 0 }],
      ['a connection reset on every attempt of a claim', { action: 'reset', times: 1, retries: 1_000 }],
    ])('%s: no step is claimed twice, none stranded', async (_fault, injection) => {
      const { store, schema } = await queueWith(5);
      await inject({ match: `^UPDATE ${schema}\\.STEP_TRACKER SET STATUS = 'claimed'`, ...injection });
      const first = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 3 });
      const second = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 3 });
      expect(first).toHaveLength(3);
      expect(second).toHaveLength(2);
      await expectClaimedOnce(
        store,
        [...first, ...second].map((r) => r.stepId),
      );
    });

    it('a completion that takes seconds does not hold back heartbeats, and completes once', async () => {
      const { store, schema } = await queueWith(2);
      const rows = await store.stepClaim({ podId: 'pod-0000000a', types: ['echo'], limit: 2 });
      await inject({ match: `^UPDATE ${schema}\\.STEP_TRACKER t SET STATUS = 'completed'`, action: 'delay', delay_ms: 3_000, times: 1 });
      const completing = store.stepCompleteMany({ items: rows.map((r) => ({ stepId: r.stepId, podId: 'pod-0000000a', attempt: 1, result: 1 })) });
      const beatStarted = Date.now();
      expect((await store.podHeartbeat({ podId: 'pod-0000000a' })).ok).toBe(true);
      const beatMs = Date.now() - beatStarted;
      const outcomes = await completing;
      const slowMs = Date.now() - beatStarted;
      expect(slowMs).toBeGreaterThanOrEqual(2_900);
      expect(beatMs).toBeLessThan(slowMs - 1_000);
      expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'completed']);
      expect((await store.eventList({})).filter((e) => e.kind === 'completed')).toHaveLength(2);
    });
  });
}
