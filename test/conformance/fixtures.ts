/**
 * Shared fixtures of the conformance cases: the time base, the policy every fresh store gets, and
 * small helpers that drive a store through the `Store` interface only. Must not hold a rule of its own:
 * the expectations live in the `*.cases.ts` files, next to the rule they guard.
 */
import { afterEach, expect } from 'vitest';
import type { ClaimedStepRow, PodMeta, PodRow, Store, StepEvent, StepEventKind, StepRow, StepSubmitParams, StorePolicy } from '../../src/store/store.js';
import type { OpenedStore, OpenOptions, StoreFactory } from './stores.js';

/** Every case starts its clock here (2023-11-14T22:13:20Z) and moves it forward explicitly. */
export const T0 = 1_700_000_000_000;

/**
 * Small numbers so that the backoff cap is reached at the 4th retry (1 s, 2 s, 4 s, 8 s, 8 s, …) and
 * a pod dies after one minute of silence.
 */
export const POLICY: StorePolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  deadPodThresholdMs: 60_000,
  maxReleases: 3,
};

/** The type every case submits unless it is testing types. */
export const TYPE = 'echo';

/** Fixed pod ids (`<name>-<8 hex>`); alphabetical, so that ties on birth_ts have a known order. */
export const POD_A = 'alpha-0000000a';
export const POD_B = 'bravo-0000000b';
export const POD_C = 'charlie-0000000c';

/** How a case wants its fresh store: policy overrides on top of POLICY, plus the open options. */
export interface FreshStoreOptions extends OpenOptions {
  readonly policy?: Partial<StorePolicy>;
}

/**
 * Call inside a `describe`: returns an opener of fresh isolated stores (POLICY unless overridden),
 * each cleaned up after its test.
 */
export function freshStores(factory: StoreFactory): (options?: FreshStoreOptions) => Promise<OpenedStore> {
  const opened: OpenedStore[] = [];
  afterEach(async () => {
    const all = opened.splice(0);
    await Promise.all(all.map((o) => o.cleanup()));
  });
  return async (options = {}) => {
    const { policy, ...openOptions } = options;
    const o = await factory.open({ ...POLICY, ...policy }, openOptions);
    opened.push(o);
    return o;
  };
}

/** Submits one step (type `echo`, 3 retries, at T0 unless overridden) and returns its id. */
export async function submit(store: Store, overrides: Partial<StepSubmitParams> = {}): Promise<string> {
  const r = await store.stepSubmit({ type: TYPE, args: {}, maxRetries: 3, timeoutMs: 900_000, now: T0, ...overrides });
  expect(r.outcome).toBe('submitted');
  return r.stepId;
}

/** Pod meta as a pod reports it, with `capacity` slots and `inFlight` busy. */
export function podMeta(capacity = 4, inFlight = 0): PodMeta {
  return { max_parallelism: capacity, capacity, in_flight: inFlight, version: '0.1.0', host: 'conformance-host' };
}

/** Registers a pod at `now` with `capacity`. */
export function registerPod(store: Store, podId: string, now = T0, capacity = 4): Promise<PodRow> {
  return store.podRegister({ podId, name: podId.replace(/-[0-9a-f]{8}$/, ''), meta: podMeta(capacity), now });
}

/** Claims everything claimable of `types` at `now` (limit 1000). */
export function claimAll(store: Store, podId: string, now: number, types: readonly string[] = [TYPE]): Promise<ClaimedStepRow[]> {
  return store.stepClaim({ podId, types, limit: 1_000, now });
}

/** Claims exactly one step and checks it is `stepId`. */
export async function claimOne(store: Store, podId: string, now: number, stepId: string): Promise<ClaimedStepRow> {
  const rows = await store.stepClaim({ podId, types: [TYPE], limit: 1, now });
  expect(rows.map((r) => r.stepId)).toEqual([stepId]);
  return rows[0]!;
}

/** The row, which must exist. */
export async function mustGet(store: Store, stepId: string): Promise<StepRow> {
  const row = await store.stepGet({ stepId });
  expect(row, `step ${stepId} should exist`).not.toBeNull();
  return row!;
}

/** The step's events in event_id order. */
export function eventsOf(store: Store, stepId: string): Promise<StepEvent[]> {
  return store.eventList({ stepId });
}

/** The kinds of the step's events, in order. */
export async function kindsOf(store: Store, stepId: string): Promise<StepEventKind[]> {
  return (await eventsOf(store, stepId)).map((e) => e.kind);
}

/** The last event of a step, which must exist. */
export async function lastEvent(store: Store, stepId: string): Promise<StepEvent> {
  const events = await eventsOf(store, stepId);
  expect(events.length).toBeGreaterThan(0);
  return events[events.length - 1]!;
}

/** All events of the store. */
export function allEvents(store: Store): Promise<StepEvent[]> {
  return store.eventList({});
}

/** The un-jittered delay of the n-th retry: `min(base × 2^(n−1), max)`. */
export function backoffCeiling(policy: StorePolicy, n: number): number {
  return Math.min(policy.baseDelayMs * 2 ** (n - 1), policy.maxDelayMs);
}

/** Checks `runAfter − now ∈ [0.5·d, d]` for the n-th retry. */
export function expectBackoff(row: StepRow, now: number, n: number, policy: StorePolicy = POLICY): void {
  const d = backoffCeiling(policy, n);
  const delay = row.runAfter - now;
  expect(delay, `retry ${n}: run_after − now`).toBeGreaterThanOrEqual(0.5 * d);
  expect(delay, `retry ${n}: run_after − now`).toBeLessThanOrEqual(d);
}

/** Seed of the randomized cases: `FLEET_Q_TEST_SEED` or a fixed default, printed on failure. */
export function testSeed(): number {
  const raw = process.env['FLEET_Q_TEST_SEED'];
  const parsed = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(parsed) ? parsed : 20_231_114;
}

/** mulberry32: a tiny deterministic PRNG, so a seed replays the same operations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
