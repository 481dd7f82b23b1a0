/**
 * The Snowflake store's owed audit events (src/store/snowflake/driver.ts): a completion's events ride
 * along with the store's next copy instead of costing a statement of their own, so the trail may lag
 * the rows for another pod. These cases check the debt is always paid, in order: a claim whose copy
 * failed is copied before the completion overwrites its outbox, and a pod that goes quiet copies
 * its last completions on its change watcher's next poll, where another pod's store sees them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { openSnowflakeStore, type SnowflakeStore } from '../../src/store/snowflake/driver.js';
import type { StepEvent } from '../../src/store/store.js';
import { dropSnowflakeSchema, emulatorLogin, emulatorUnavailableReason, emulatorUrl, freshSnowflakeSchema } from '../support/snowflake.js';

const url = emulatorUrl();
const POLICY = { baseDelayMs: 1_000, maxDelayMs: 8_000, deadPodThresholdMs: 60_000, maxReleases: 3 };
const META = { max_parallelism: 10, capacity: 10, in_flight: 0, version: 'test', host: 'test' };
const POD = 'pod-0000000b';

const opened: SnowflakeStore[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const schema of schemas.splice(0)) await dropSnowflakeSchema(url!, schema).catch(() => undefined);
});

async function open(schema: string): Promise<SnowflakeStore> {
  const store = await openSnowflakeStore({ login: emulatorLogin(url!), schema, policy: POLICY, poolSize: 2, watch: { intervalMs: 100, maxIntervalMs: 400 } });
  opened.push(store);
  return store;
}

async function queueWith(steps: number): Promise<{ store: SnowflakeStore; schema: string; ids: string[] }> {
  const schema = freshSnowflakeSchema();
  schemas.push(schema);
  const store = await open(schema);
  await store.migrate();
  await store.podRegister({ podId: POD, name: 'pod', meta: META });
  const { results } = await store.stepSubmitBatch({
    steps: Array.from({ length: steps }, (_, i) => ({ type: 'echo', args: { i }, maxRetries: 3, timeoutMs: 60_000 })),
  });
  return { store, schema, ids: results.map((r) => r.stepId) };
}

/** Each step's kinds in trail order. */
function kindsByStep(events: readonly StepEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) (out[e.stepId] ??= []).push(e.kind);
  return out;
}

if (url === undefined && !requiredStores().has('snowflake')) {
  console.warn(`Snowflake owed-event tests not run: ${emulatorUnavailableReason()}`);
  describe.skip(`Snowflake owed events (not run: ${emulatorUnavailableReason()})`, () => it('runs', () => undefined));
} else {
  describe('Snowflake owed audit events', { timeout: 120_000 }, () => {
    it('a claim whose event copy failed: the completion copies the claimed events before it overwrites them', async () => {
      const { store, schema, ids } = await queueWith(3);
      const inject = await fetch(`${url}/__faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ match: `^INSERT INTO ${schema}\\.STEP_EVENTS .*WHERE s\\.WRITE_TOKEN IN`, action: 'error', code: '001003', times: 1 }),
      });
      expect(inject.status).toBe(200);
      const rows = await store.stepClaim({ podId: POD, types: ['echo'], limit: 3 });
      expect(rows).toHaveLength(3); // the steps are the pod's even though their events are still owed
      const outcomes = await store.stepCompleteMany({ items: rows.map((r) => ({ stepId: r.stepId, podId: POD, attempt: 1, result: r.stepId })) });
      expect(outcomes.map((o) => o.outcome)).toEqual(['completed', 'completed', 'completed']);
      const byStep = kindsByStep(await store.eventList({}));
      for (const id of ids) expect(byStep[id]).toEqual(['submitted', 'claimed', 'completed']);
    });

    it('a pod gone quiet: its watcher copies its last completions, and another pod sees them without any further call', async () => {
      const { store, schema } = await queueWith(2);
      const stop = store.watchWork(() => undefined);
      try {
        const rows = await store.stepClaim({ podId: POD, types: ['echo'], limit: 2 });
        await store.stepCompleteMany({ items: rows.map((r) => ({ stepId: r.stepId, podId: POD, attempt: 1, result: 1 })) });
        const peer = await open(schema);
        const completedSeen = async () => (await peer.eventList({})).filter((e) => e.kind === 'completed').length;
        expect(await completedSeen()).toBe(0); // owed by the writer: the peer cannot copy them
        const deadline = Date.now() + 10_000;
        while ((await completedSeen()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(await completedSeen()).toBe(2);
      } finally {
        stop();
      }
    });
  });
}
