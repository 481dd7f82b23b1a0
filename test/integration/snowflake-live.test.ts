/**
 * Opt-in: the Snowflake store against a real account, for what the emulator cannot show (table
 * locks with queueing instead of conflicts, statement-level CURRENT_TIMESTAMP, real latency,
 * key-pair sign-in). Runs only when FLEET_Q_TEST_SNOWFLAKE_* name an account (test/support/snowflake.ts
 * `liveAccountLogin`); each run works in a schema of its own and drops it. Reports why it did not run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openSnowflakeStore, type SnowflakeStore } from '../../src/store/snowflake/driver.js';
import { SessionPool } from '../../src/store/snowflake/connection.js';
import { freshSnowflakeSchema, liveAccountLogin } from '../support/snowflake.js';

const login = liveAccountLogin();
const POLICY = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 20, capacity: 20, in_flight: 0, version: 'live-test', host: 'live-test' };

if (login === undefined) {
  describe.skip('Snowflake live account (not run: FLEET_Q_TEST_SNOWFLAKE_ACCOUNT, _USER, _DATABASE and a key or password are not set)', () =>
    it('runs', () => undefined));
} else {
  describe('Snowflake live account', { timeout: 300_000 }, () => {
    const schema = freshSnowflakeSchema();
    const stores: SnowflakeStore[] = [];
    const open = async () => {
      const store = await openSnowflakeStore({ login, schema, policy: POLICY, poolSize: 2 });
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      const pool = new SessionPool(login, { lockTimeoutSeconds: 10, statementTimeoutSeconds: 60 }, 1);
      await pool.run({ sqlText: `DROP SCHEMA IF EXISTS ${schema} CASCADE`, binds: [] }).finally(() => pool.close());
    });

    it('two pods racing for 60 steps on one table lock: each claimed once, every claim with one event, all completed once', async () => {
      const a = await open();
      const b = await open();
      await Promise.all([a.migrate(), b.migrate()]);
      await a.podRegister({ podId: 'live-a-0000000a', name: 'live-a', meta: META });
      await b.podRegister({ podId: 'live-b-0000000b', name: 'live-b', meta: META });
      await a.stepSubmitBatch({ steps: Array.from({ length: 60 }, (_, i) => ({ type: 'echo', args: { i }, maxRetries: 3, timeoutMs: 60_000 })) });
      const claimed: string[] = [];
      for (let round = 0; round < 20 && claimed.length < 60; round++) {
        const [ra, rb] = await Promise.all([
          a.stepClaim({ podId: 'live-a-0000000a', types: ['echo'], limit: 7 }),
          b.stepClaim({ podId: 'live-b-0000000b', types: ['echo'], limit: 7 }),
        ]);
        await Promise.all([
          a.stepCompleteMany({ items: ra.map((r) => ({ stepId: r.stepId, podId: 'live-a-0000000a', attempt: r.attempt, result: 'a' })) }),
          b.stepCompleteMany({ items: rb.map((r) => ({ stepId: r.stepId, podId: 'live-b-0000000b', attempt: r.attempt, result: 'b' })) }),
        ]);
        claimed.push(...ra.map((r) => r.stepId), ...rb.map((r) => r.stepId));
      }
      expect(new Set(claimed).size).toBe(60);
      expect(claimed).toHaveLength(60);
      const events = await a.eventList({});
      expect(events.filter((e) => e.kind === 'claimed')).toHaveLength(60);
      expect(events.filter((e) => e.kind === 'completed')).toHaveLength(60);
      expect((await a.queueStats()).completed).toBe(60);
    });

    // The gate (src/store/snowflake/gate.ts) waits on STEP_GATE's table lock here instead of
    // conflicting as on the emulator: the same races must give the same answers.
    it('through the gate: same-key submits from two pods make one step, racing limited claims never exceed the limit', async () => {
      const a = await open();
      const b = await open();
      await Promise.all([a.migrate(), b.migrate()]);
      await a.podRegister({ podId: 'live-a-0000000a', name: 'live-a', meta: META });
      await b.podRegister({ podId: 'live-b-0000000b', name: 'live-b', meta: META });
      for (let round = 0; round < 5; round++) {
        const submit = (store: SnowflakeStore) =>
          store.stepSubmit({ type: 'keyed', args: { round }, idempotencyKey: `live-${round}`, maxRetries: 0, timeoutMs: 60_000 });
        const [ra, rb] = await Promise.all([submit(a), submit(b)]);
        expect([ra.outcome, rb.outcome].sort()).toEqual(['duplicate', 'submitted']);
        expect(ra.stepId).toBe(rb.stepId);
      }
      const limits = [{ type: 'limited', concurrency: 3 }];
      await a.stepSubmitBatch({ steps: Array.from({ length: 8 }, (_, i) => ({ type: 'limited', args: { i }, maxRetries: 0, timeoutMs: 60_000 })) });
      const [ca, cb] = await Promise.all([
        a.stepClaim({ podId: 'live-a-0000000a', types: ['limited'], limit: 3, limits }),
        b.stepClaim({ podId: 'live-b-0000000b', types: ['limited'], limit: 3, limits }),
      ]);
      expect(ca.length + cb.length).toBe(3);
    });
  });
}
