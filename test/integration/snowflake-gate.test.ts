/**
 * The Snowflake store's serialization gate (src/store/snowflake/gate.ts), raced on the emulator
 * with several store instances on one schema, each its own sessions as separate pods would have:
 * two submits of one idempotency key at once make one step (the other is answered duplicate), and
 * flow-limited claims racing from four stores never hold more than the limit. Without the gate the
 * emulator let both same-key submits in (5 of 20 tries) and four racing claimers hold 6 of a limit
 * of 3. Also: a gated transaction that fails is rolled back, so it blocks no later gated write.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { openSnowflakeStore, type SnowflakeStore } from '../../src/store/snowflake/driver.js';
import type { TypeFlowLimit } from '../../src/store/store.js';
import { StatementCounter } from '../bench/statement-counter.js';
import { countSnowflakeStatements } from '../bench/statements.snowflake.js';
import { dropSnowflakeSchema, emulatorLogin, emulatorUnavailableReason, emulatorUrl, freshSnowflakeSchema } from '../support/snowflake.js';

const url = emulatorUrl();
const POLICY = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 10, capacity: 10, in_flight: 0, version: 'test', host: 'test' };
const STORES = 4;
const counter = new StatementCounter();
countSnowflakeStatements(counter);

const opened: SnowflakeStore[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const schema of schemas.splice(0)) await dropSnowflakeSchema(url!, schema).catch(() => undefined);
});

/** `count` stores on one fresh, migrated schema, each with a registered pod `pod-<i>`. */
async function fleet(count: number): Promise<{ stores: SnowflakeStore[]; schema: string }> {
  const schema = freshSnowflakeSchema();
  schemas.push(schema);
  const stores: SnowflakeStore[] = [];
  for (let i = 0; i < count; i++) {
    const store = await openSnowflakeStore({ login: emulatorLogin(url!), schema, policy: POLICY, poolSize: 2 });
    opened.push(store);
    stores.push(store);
  }
  await stores[0]!.migrate();
  for (let i = 0; i < count; i++) await stores[i]!.podRegister({ podId: `pod-${i}`, name: `pod-${i}`, meta: META });
  return { stores, schema };
}

async function claimedOf(store: SnowflakeStore, type: string): Promise<number> {
  return (await store.stepList({ status: 'claimed', type, limit: 100, offset: 0 })).length;
}

if (url === undefined && !requiredStores().has('snowflake')) {
  console.warn(`Snowflake gate tests not run: ${emulatorUnavailableReason()}`);
  describe.skip(`Snowflake serialization gate (not run: ${emulatorUnavailableReason()})`, () => it('runs', () => undefined));
} else {
  describe('Snowflake serialization gate', { timeout: 240_000 }, () => {
    it('20 rounds of two simultaneous same-key submits on two stores: one step per key, the other answered duplicate', async () => {
      const { stores } = await fleet(2);
      const ROUNDS = 20;
      for (let round = 0; round < ROUNDS; round++) {
        const submit = (store: SnowflakeStore) =>
          store.stepSubmit({ type: 'keyed', args: { round }, idempotencyKey: `key-${round}`, maxRetries: 0, timeoutMs: 60_000 });
        const [a, b] = await Promise.all([submit(stores[0]!), submit(stores[1]!)]);
        expect([a.outcome, b.outcome].sort(), `round ${round}`).toEqual(['duplicate', 'submitted']);
        expect(a.stepId, `round ${round}`).toBe(b.stepId);
      }
      const steps = await stores[0]!.stepList({ type: 'keyed', limit: 100, offset: 0 });
      expect(steps.filter((s) => s.type === 'keyed')).toHaveLength(ROUNDS);
      expect(new Set(steps.map((s) => s.idempotencyKey)).size).toBe(ROUNDS);
      // Each step's trail has its one `submitted` event: the loser's staged rows left no event behind.
      const submitted = (await stores[1]!.eventList({ limit: 1000 })).filter((e) => e.kind === 'submitted');
      expect(submitted.map((e) => e.stepId).sort()).toEqual(steps.map((s) => s.stepId).sort());
    });

    it('four stores racing claims of a type limited to 3: never more than 3 claimed, and the limit is reached (3 races)', async () => {
      const LIMIT = 3;
      const limits: TypeFlowLimit[] = [{ type: 'limited', concurrency: LIMIT }];
      for (let race = 0; race < 3; race++) {
        const { stores } = await fleet(STORES);
        // Each store prefers different steps (store g alone sees group g due, which has the highest
        // priority it sees), so the racing claim UPDATEs touch disjoint rows: only the gate can
        // make them exclude each other (overlapping rows would conflict on the emulator anyway).
        const t0 = Date.now();
        await stores[0]!.stepSubmitBatch({
          now: t0,
          steps: Array.from({ length: 2 * STORES }, (_, i) => {
            const group = Math.floor(i / 2);
            return { type: 'limited', args: { i }, priority: group, delayMs: group * 1_000, maxRetries: 0, timeoutMs: 60_000 };
          }),
        });
        const claims = await Promise.all(
          stores.map((store, g) => store.stepClaim({ podId: `pod-${g}`, types: ['limited'], limit: 2, limits, now: t0 + g * 1_000 + 500 })),
        );
        const held = claims.flat();
        expect(held.length, `race ${race}: claims answered`).toBeLessThanOrEqual(LIMIT);
        expect(await claimedOf(stores[0]!, 'limited'), `race ${race}: claimed rows`).toBe(held.length);
        expect(held.length, `race ${race}: the limit is reached`).toBe(LIMIT);
      }
    });

    it('four stores racing claims of a type rate-limited to 2 a minute: two starts in all', async () => {
      const { stores } = await fleet(STORES);
      const limits: TypeFlowLimit[] = [{ type: 'rated', rateLimit: { max: 2, intervalMs: 60_000 } }];
      await stores[0]!.stepSubmitBatch({ steps: Array.from({ length: 8 }, (_, i) => ({ type: 'rated', args: { i }, maxRetries: 0, timeoutMs: 60_000 })) });
      const claims = await Promise.all(stores.map((store, i) => store.stepClaim({ podId: `pod-${i}`, types: ['rated'], limit: 2, limits })));
      expect(claims.flat()).toHaveLength(2);
      const again = await Promise.all(stores.map((store, i) => store.stepClaim({ podId: `pod-${i}`, types: ['rated'], limit: 2, limits })));
      expect(again.flat()).toHaveLength(0);
      expect(await claimedOf(stores[0]!, 'rated')).toBe(2);
    });

    it('only limited claims and keyed submits pay the gate: 3 statements more each, plain claims and submits unchanged', async () => {
      const { stores } = await fleet(1);
      const store = stores[0]!;
      const limits: TypeFlowLimit[] = [{ type: 'limited', concurrency: 5 }];
      const step = (type: string, key?: string) => ({
        type,
        args: { key: key ?? null },
        maxRetries: 0,
        timeoutMs: 60_000,
        ...(key === undefined ? {} : { idempotencyKey: key }),
      });
      const measure = async (work: () => Promise<unknown>) => {
        counter.reset();
        await work();
        const { total, byLabel } = counter.snapshot();
        return { total, gate: byLabel['gate'] ?? 0 };
      };
      expect(await measure(() => store.stepSubmit(step('plain')))).toEqual({ total: 2, gate: 0 });
      expect(await measure(() => store.stepSubmit(step('limited', 'k1')))).toEqual({ total: 7, gate: 3 });
      expect(await measure(() => store.stepClaim({ podId: 'pod-0', types: ['plain'], limit: 5 }))).toEqual({ total: 3, gate: 0 });
      expect(await measure(() => store.stepClaim({ podId: 'pod-0', types: ['limited'], limit: 5, limits }))).toEqual({ total: 6, gate: 3 });
    });

    it('a gated claim whose UPDATE fails is rolled back: nothing is claimed and the next gated claim and keyed submit go through', async () => {
      const { stores, schema } = await fleet(2);
      const limits: TypeFlowLimit[] = [{ type: 'limited', concurrency: 2 }];
      await stores[0]!.stepSubmitBatch({ steps: Array.from({ length: 3 }, (_, i) => ({ type: 'limited', args: { i }, maxRetries: 0, timeoutMs: 60_000 })) });
      const inject = await fetch(`${url}/__faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ match: `^UPDATE ${schema}\\.STEP_TRACKER SET STATUS = 'claimed'`, action: 'error', code: '001003', times: 1 }),
      });
      expect(inject.status).toBe(200);
      await expect(stores[0]!.stepClaim({ podId: 'pod-0', types: ['limited'], limit: 2, limits })).rejects.toThrow(/001003/);
      expect(await claimedOf(stores[1]!, 'limited')).toBe(0);
      // Were the failed transaction still open, its gate slot would refuse these (a conflict each time).
      const rows = await stores[1]!.stepClaim({ podId: 'pod-1', types: ['limited'], limit: 2, limits });
      expect(rows).toHaveLength(2);
      const again = await stores[0]!.stepClaim({ podId: 'pod-0', types: ['limited'], limit: 2, limits });
      expect(again).toHaveLength(0);
      const submitted = await stores[0]!.stepSubmit({ type: 'keyed', args: {}, idempotencyKey: 'after', maxRetries: 0, timeoutMs: 60_000 });
      expect(submitted.outcome).toBe('submitted');
    });
  });
}
