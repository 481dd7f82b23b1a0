/**
 * The commands of the model-based property: each calls one Store method on the real store at the
 * model's clock, asserts the outcome the reference model predicted (applied or stale, retried or
 * dead-lettered, PodFencedError, ConflictError, NotFoundError, duplicate), checks the events it
 * wrote, fills the model's holes from the real row, and then checks the whole store (observe.ts).
 * Commands are built from plain parameters and resolve their target against the model when they
 * run, so shrinking can drop any of them; `toString` prints only those parameters.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { ConflictError, NotFoundError, PodFencedError } from '../../src/errors.js';
import type { FencedWriteResult, Json, PodMeta, Store, StepEvent } from '../../src/store/store.js';
import type { ClaimRefSpec, ExpectedEvent, Prediction, QueueModel, SubmitSpec } from './model.js';
import { checkAgreement, readAllEvents, rowView } from './observe.js';

/** One pod process name; `incarnation` numbers its restarts (a fresh `pod_id` each). */
export interface PodSlot {
  readonly name: string;
  podId: string;
  incarnation: number;
  /** Killed: this incarnation no longer heartbeats or claims (its claims stay, for zombie writes). */
  silent: boolean;
}

export interface World {
  readonly queue: QueueModel;
  readonly slots: PodSlot[];
}

export type StoreCommand = fc.AsyncCommand<World, Store>;

export const STEP_TYPES = ['alpha', 'beta', 'gamma'] as const;
const TIMEOUT_MS = 60_000;
const META: PodMeta = { max_parallelism: 4, capacity: 3, in_flight: 0, version: 'test', host: 'localhost' };

/** `<name>-<8 hex>` for the n-th incarnation of a slot. */
export function podIdOf(name: string, incarnation: number): string {
  return `${name}-${incarnation.toString(16).padStart(8, '0')}`;
}

async function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

function valueOf<T>(got: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!got.ok) throw got.error;
  return got.value;
}

const eventKey = (e: { stepId: string; kind: string }) => `${e.stepId} ${e.kind}`;
const byKey = <E extends { stepId: string; kind: string }>(events: readonly E[]) =>
  [...events].sort((a, b) => (eventKey(a) < eventKey(b) ? -1 : eventKey(a) > eventKey(b) ? 1 : 0));

/** The end of every command: the events written, the holes filled, then the whole store checked. */
async function conclude(q: QueueModel, store: Store, prediction: Prediction<unknown>): Promise<void> {
  const fresh: StepEvent[] = await readAllEvents(store, q.lastEventId);
  const view = (e: StepEvent | ExpectedEvent) => ({ stepId: e.stepId, kind: e.kind, podId: e.podId, attempt: e.attempt, detail: e.detail });
  expect(byKey(fresh.map(view)), 'events written by this command').toMatchObject(byKey(prediction.events.map(view)));
  for (const e of fresh) expect(e.ts, `event #${e.eventId} time`).toBe(q.clock);
  for (const hole of prediction.holes) {
    const row = (await store.stepGet({ stepId: hole.stepId }))!;
    if (hole.runAfter !== undefined) {
      expect(row.runAfter, `backoff of ${hole.stepId}`).toBeGreaterThanOrEqual(hole.runAfter.min);
      expect(row.runAfter, `backoff of ${hole.stepId}`).toBeLessThanOrEqual(hole.runAfter.max);
    }
    if (hole.lastErrorIncludes !== undefined) {
      expect(row.lastError, `last_error of ${hole.stepId}`).toEqual(expect.stringContaining(hole.lastErrorIncludes));
      expect(row.lastError, `last_error of ${hole.stepId}`).not.toBe('');
    }
    q.fill(hole.stepId, hole.runAfter === undefined ? undefined : row.runAfter, hole.lastErrorIncludes === undefined ? undefined : row.lastError);
  }
  for (const e of fresh) {
    if (e.kind === 'retried' || e.kind === 'recovered') q.runAfterByEvent.set(e.eventId, q.steps.get(e.stepId)!.runAfter);
  }
  q.lastEventId = fresh.at(-1)?.eventId ?? q.lastEventId;
  await checkAgreement(q, store);
}

const noEffect: Prediction<null> = { outcome: null, events: [], holes: [] };

export class SubmitCommand implements StoreCommand {
  constructor(readonly spec: SubmitSpec) {}
  check = () => true;
  async run({ queue: q }: World, store: Store): Promise<void> {
    const verdict = q.classifySubmit(this.spec);
    const got = await settled(store.stepSubmit({ ...this.spec, timeoutMs: TIMEOUT_MS, now: q.clock }));
    if (verdict.kind === 'conflict') {
      expect(got.ok ? got.value : got.error, 'same key, different args').toBeInstanceOf(ConflictError);
      return conclude(q, store, noEffect);
    }
    if (verdict.kind === 'duplicate') {
      expect(valueOf(got), 'same key, same args').toEqual({ stepId: verdict.stepId, outcome: 'duplicate' });
      return conclude(q, store, noEffect);
    }
    const result = valueOf(got);
    expect(result.outcome).toBe('submitted');
    expect(q.steps.has(result.stepId), 'a new step id').toBe(false);
    await conclude(q, store, q.submit(this.spec, result.stepId));
  }
  toString = () => `submit(${this.spec.type},p${this.spec.priority},r${this.spec.maxRetries},${this.spec.idempotencyKey},${JSON.stringify(this.spec.args)})`;
}

/**
 * A claim by a slot's current pod, or (`unregistered`) by its next incarnation, which has no row yet.
 * When the current pod is fenced, it then re-registers as a new incarnation, as its supervisor would.
 */
export class ClaimCommand implements StoreCommand {
  constructor(readonly slot: number, readonly limit: number, readonly types: readonly string[], readonly unregistered = false) {}
  check = (w: Readonly<World>) => !w.slots[this.slot]!.silent;
  async run(w: World, store: Store): Promise<void> {
    const { queue: q, slots } = w;
    const slot = slots[this.slot]!;
    const podId = this.unregistered ? podIdOf(slot.name, slot.incarnation + 1) : slot.podId;
    const prediction = q.claim(podId, this.types, this.limit);
    const got = await settled(store.stepClaim({ podId, types: this.types, limit: this.limit, now: q.clock }));
    if (prediction.outcome === 'fenced') {
      expect(got.ok ? got.value : got.error, `claim by ${podId}, whose row is missing or down`).toBeInstanceOf(PodFencedError);
      await conclude(q, store, prediction);
      // A fenced pod re-registers as a new incarnation (DESIGN §3), as its supervisor would.
      if (!this.unregistered) await new RegisterCommand(this.slot, true).run(w, store);
      return;
    }
    const rows = valueOf(got);
    expect(rows.map((r) => r.stepId).sort(), 'claimed steps').toEqual([...prediction.outcome].sort());
    for (const row of rows) expect(rowView(row), 'claimed row').toEqual(rowView(q.steps.get(row.stepId)!));
    await conclude(q, store, prediction);
  }
  toString = () => `claim(s${this.slot}${this.unregistered ? '-unregistered' : ''},${this.limit},[${this.types.join(' ')}])`;
}

export type WriterVariant = 'holder' | 'wrongPod' | 'oldAttempt';

/**
 * The claim a fenced write uses: the holder's own (of a claimed step if any, else a zombie's last
 * claim), or a deliberately stale one (another pod, or the previous attempt).
 */
function resolveRef(w: Readonly<World>, pick: number, variant: WriterVariant): ClaimRefSpec | null {
  const everClaimed = [...w.queue.steps.values()].filter((s) => s.lastClaim !== null);
  const claimed = everClaimed.filter((s) => s.status === 'claimed');
  const candidates = variant === 'holder' && claimed.length > 0 ? claimed : everClaimed;
  const step = candidates[pick % Math.max(1, candidates.length)];
  if (step === undefined) return null;
  const last = step.lastClaim!;
  if (variant === 'holder') return { stepId: step.stepId, podId: last.podId, attempt: last.attempt };
  if (variant === 'oldAttempt') return { stepId: step.stepId, podId: last.podId, attempt: last.attempt - 1 };
  const known = new Set([...w.queue.pods.keys(), ...w.slots.map((s) => s.podId)]);
  const others = [...known].filter((id) => id !== last.podId).sort();
  return { stepId: step.stepId, podId: others[pick % Math.max(1, others.length)] ?? 'ghost-00000000', attempt: last.attempt };
}

/** Shared by complete / fail / release: stale answers are `{ applied: false }`, applied ones return the row. */
async function fencedWrite<O extends string>(
  q: QueueModel, store: Store, prediction: Prediction<O | 'stale'>,
  call: Promise<FencedWriteResult<string>>,
): Promise<void> {
  const got = await call;
  if (prediction.outcome === 'stale') {
    expect(got, 'a write without the claim').toEqual({ applied: false, outcome: 'stale' });
    return conclude(q, store, prediction);
  }
  expect({ applied: got.applied, outcome: got.outcome }, 'fenced write').toEqual({ applied: true, outcome: prediction.outcome });
  await conclude(q, store, prediction);
  if (got.applied) expect(rowView(got.step), 'returned row').toEqual(rowView(q.steps.get(got.step.stepId)!));
}

export class CompleteCommand implements StoreCommand {
  constructor(readonly pick: number, readonly variant: WriterVariant) {}
  check = (w: Readonly<World>) => resolveRef(w, this.pick, this.variant) !== null;
  async run(w: World, store: Store): Promise<void> {
    const ref = resolveRef(w, this.pick, this.variant)!;
    const result: Json = { done: this.pick };
    const prediction = w.queue.complete(ref, result);
    await fencedWrite(w.queue, store, prediction, store.stepComplete({ ...ref, result, now: w.queue.clock }));
  }
  toString = () => `complete(#${this.pick},${this.variant})`;
}

export class FailCommand implements StoreCommand {
  constructor(readonly pick: number, readonly variant: WriterVariant, readonly retryable: boolean, readonly reason: 'error' | 'timeout') {}
  check = (w: Readonly<World>) => resolveRef(w, this.pick, this.variant) !== null;
  async run(w: World, store: Store): Promise<void> {
    const ref = resolveRef(w, this.pick, this.variant)!;
    const error = `boom ${this.pick}`;
    const prediction = w.queue.fail(ref, error, this.retryable, this.reason);
    const call = store.stepFail({ ...ref, error, retryable: this.retryable, reason: this.reason, now: w.queue.clock });
    await fencedWrite(w.queue, store, prediction, call);
  }
  toString = () => `fail(#${this.pick},${this.variant},${this.retryable ? 'retryable' : 'fatal'},${this.reason})`;
}

export class ReleaseCommand implements StoreCommand {
  constructor(readonly pick: number, readonly variant: WriterVariant) {}
  check = (w: Readonly<World>) => resolveRef(w, this.pick, this.variant) !== null;
  async run(w: World, store: Store): Promise<void> {
    const ref = resolveRef(w, this.pick, this.variant)!;
    const prediction = w.queue.release(ref);
    await fencedWrite(w.queue, store, prediction, store.stepRelease({ ...ref, reason: 'drain', now: w.queue.clock }));
  }
  toString = () => `release(#${this.pick},${this.variant})`;
}

/** Operator replay of a dead-lettered step, of any step (mostly not failed: a conflict), or of an unknown id. */
export class ReplayCommand implements StoreCommand {
  constructor(readonly pick: number, readonly target: 'failed' | 'any' | 'unknown') {}
  check = (w: Readonly<World>) => this.target === 'unknown' || this.candidates(w).length > 0;
  async run(w: World, store: Store): Promise<void> {
    const q = w.queue;
    const ids = this.candidates(w);
    const stepId = this.target === 'unknown' ? 'step_0000000000ZZZZZZZZZZZZZZZZ' : ids[this.pick % ids.length]!;
    const prediction = q.replay(stepId);
    const got = await settled(store.stepReplay({ stepId, now: q.clock }));
    const expected = { not_found: NotFoundError, conflict: ConflictError, replayed: null }[prediction.outcome];
    if (expected !== null) expect(got.ok ? got.value : got.error, `replay of a ${q.steps.get(stepId)?.status ?? 'unknown'} step`).toBeInstanceOf(expected);
    else expect(rowView(valueOf(got)), 'replayed row').toEqual(rowView(q.steps.get(stepId)!));
    await conclude(q, store, prediction);
  }
  private candidates(w: Readonly<World>): string[] {
    return [...w.queue.steps.values()].filter((s) => this.target !== 'failed' || s.status === 'failed').map((s) => s.stepId);
  }
  toString = () => `replay(${this.target === 'unknown' ? 'unknown' : `#${this.pick},${this.target}`})`;
}

export class RegisterCommand implements StoreCommand {
  constructor(readonly slot: number, readonly fresh: boolean) {}
  check = () => true;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const slot = slots[this.slot]!;
    if (this.fresh) slot.podId = podIdOf(slot.name, ++slot.incarnation);
    slot.silent = false;
    q.register(slot.podId, slot.name);
    const row = await store.podRegister({ podId: slot.podId, name: slot.name, meta: META, now: q.clock });
    expect({ podId: row.podId, status: row.status, birthTs: row.birthTs, lastHeartbeatTs: row.lastHeartbeatTs, live: row.live }, 'registered pod')
      .toEqual({ podId: slot.podId, status: 'up', birthTs: q.clock, lastHeartbeatTs: q.clock, live: true });
    await conclude(q, store, noEffect);
  }
  toString = () => `register(s${this.slot}${this.fresh ? ',fresh' : ''})`;
}

/** One pod's heartbeat, or (`slot` null) a beat of every pod still running, as their timers would do. */
export class HeartbeatCommand implements StoreCommand {
  constructor(readonly slot: number | null) {}
  check = (w: Readonly<World>) => this.slot === null || !w.slots[this.slot]!.silent;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const beating = this.slot === null ? slots.filter((s) => !s.silent) : [slots[this.slot]!];
    for (const { podId } of beating) {
      const ok = q.heartbeat(podId);
      const got = await store.podHeartbeat({ podId, meta: META, now: q.clock });
      expect(got.ok, `heartbeat of ${podId}`).toBe(ok);
      if (ok) expect(got.ts).toBe(q.clock);
    }
    await conclude(q, store, noEffect);
  }
  toString = () => `heartbeat(${this.slot === null ? 'all' : `s${this.slot}`})`;
}

/** The pod process dies: no more heartbeats or claims from this incarnation. Touches no store. */
export class KillCommand implements StoreCommand {
  constructor(readonly slot: number) {}
  check = (w: Readonly<World>) => !w.slots[this.slot]!.silent;
  async run({ slots }: World): Promise<void> {
    slots[this.slot]!.silent = true;
  }
  toString = () => `kill(s${this.slot})`;
}

export class MarkDownCommand implements StoreCommand {
  constructor(readonly slot: number) {}
  check = () => true;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const podId = slots[this.slot]!.podId;
    q.markDown(podId);
    await store.podMarkDown({ podId, now: q.clock });
    await conclude(q, store, noEffect);
  }
  toString = () => `markDown(s${this.slot})`;
}

export class SweepCommand implements StoreCommand {
  constructor(readonly sweeperSlot: number | null, readonly dryRun: boolean) {}
  check = () => true;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const podId = this.sweeperSlot === null ? undefined : slots[this.sweeperSlot]!.podId;
    const prediction = q.sweep(podId ?? null, this.dryRun);
    const got = await store.recoverySweep({ dryRun: this.dryRun, now: q.clock, ...(podId === undefined ? {} : { podId }) });
    const { deadPods, requeued, deadLettered } = prediction.outcome;
    expect({
      dryRun: got.dryRun, deadPods: [...got.deadPods].sort(), requeued: [...got.requeued].sort(),
      deadLettered: [...got.deadLettered].sort(), orphanedSteps: [...got.orphanedSteps].sort(),
    }, 'sweep summary').toEqual({ dryRun: this.dryRun, deadPods, requeued, deadLettered, orphanedSteps: [...requeued, ...deadLettered].sort() });
    await conclude(q, store, prediction);
  }
  toString = () => `sweep(${this.sweeperSlot === null ? 'anonymous' : `s${this.sweeperSlot}`}${this.dryRun ? ',dry' : ''})`;
}

/**
 * Moves the model clock; every later call passes the new `now`. With `beat`, every pod still running
 * heartbeats at the new time, as its timer would; without, time passed with nobody beating (a pause).
 */
export class AdvanceCommand implements StoreCommand {
  constructor(readonly ms: number, readonly beat: boolean) {}
  check = () => true;
  async run(w: World, store: Store): Promise<void> {
    w.queue.clock += this.ms;
    if (this.beat) return new HeartbeatCommand(null).run(w, store);
    await conclude(w.queue, store, noEffect);
  }
  toString = () => `advance(${this.ms}${this.beat ? ',beat' : ''})`;
}

/** Argument values that repeat, differ, and include two with the same canonical JSON. */
const ARGS: readonly Json[] = [{ n: 1 }, { n: 2 }, { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }];

/** The command mix, weighted by repetition; `threshold` is the dead-pod threshold of the policy. */
export function commandArbitraries(threshold: number): fc.Arbitrary<StoreCommand>[] {
  const slot = fc.integer({ min: 0, max: 2 });
  const pick = fc.nat(15);
  const variant = fc.constantFrom<WriterVariant>('holder', 'holder', 'holder', 'wrongPod', 'oldAttempt');
  const reason = fc.constantFrom<'error' | 'timeout'>('error', 'timeout');
  const submit = fc
    .record({
      type: fc.constantFrom(...STEP_TYPES),
      args: fc.constantFrom(...ARGS),
      priority: fc.integer({ min: 0, max: 2 }),
      maxRetries: fc.integer({ min: 0, max: 3 }),
      idempotencyKey: fc.option(fc.constantFrom('k1', 'k2'), { freq: 2, nil: null }),
    })
    .map((spec) => new SubmitCommand(spec));
  // Mostly every type, so claims find work; sometimes a subset (or none) to check the type filter.
  const types = fc.oneof({ arbitrary: fc.constant([...STEP_TYPES]), weight: 3 }, { arbitrary: fc.subarray([...STEP_TYPES]), weight: 1 });
  const unregistered = fc.constantFrom(false, false, false, false, false, false, false, true);
  const claim = fc.tuple(slot, fc.integer({ min: 1, max: 3 }), types, unregistered).map(([s, limit, t, u]) => new ClaimCommand(s, limit, t, u));
  const complete = fc.tuple(pick, variant).map(([p, v]) => new CompleteCommand(p, v));
  // Mostly short moves (backoffs expire, pods stay live); sometimes to the dead threshold and past it.
  const advance = fc
    .oneof(
      { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 4 },
      { arbitrary: fc.integer({ min: 300, max: 1500 }), weight: 3 },
      { arbitrary: fc.constantFrom(threshold - 1, threshold, threshold + 1), weight: 1 },
      { arbitrary: fc.integer({ min: threshold, max: 2 * threshold }), weight: 1 },
    )
    .chain((ms) => fc.constantFrom(true, true, false).map((beat) => new AdvanceCommand(ms, beat)));
  const heartbeat = fc.option(slot, { nil: null, freq: 2 }).map((s) => new HeartbeatCommand(s));
  const death = fc.tuple(slot, fc.constantFrom(false, false, false, true)).map(([s, markDown]) => (markDown ? new MarkDownCommand(s) : new KillCommand(s)));
  return [
    submit, submit, submit, submit,
    claim, claim, claim, claim, claim,
    complete, complete, complete,
    fc.tuple(pick, variant, fc.boolean(), reason).map(([p, v, retryable, why]) => new FailCommand(p, v, retryable, why)),
    fc.tuple(pick, variant, reason).map(([p, v, why]) => new FailCommand(p, v, true, why)),
    fc.tuple(pick, variant).map(([p, v]) => new ReleaseCommand(p, v)),
    heartbeat, heartbeat, heartbeat,
    fc.tuple(slot, fc.boolean()).map(([s, fresh]) => new RegisterCommand(s, fresh)),
    fc.tuple(slot, fc.boolean()).map(([s, fresh]) => new RegisterCommand(s, fresh)),
    death, death,
    fc.tuple(fc.option(slot, { nil: null }), fc.constantFrom(false, false, true)).map(([s, dry]) => new SweepCommand(s, dry)),
    fc.tuple(fc.option(slot, { nil: null }), fc.constant(false)).map(([s, dry]) => new SweepCommand(s, dry)),
    fc.tuple(fc.option(slot, { nil: null }), fc.constant(false)).map(([s, dry]) => new SweepCommand(s, dry)),
    fc.tuple(pick, fc.constantFrom<'failed' | 'any' | 'unknown'>('failed', 'failed', 'any', 'unknown')).map(([p, target]) => new ReplayCommand(p, target)),
    pick.map((p) => new ReplayCommand(p, 'failed')),
    advance, advance, advance,
  ];
}
