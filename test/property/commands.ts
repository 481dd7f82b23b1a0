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
import { claimedStepOf } from '../../src/store/store.js';
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
  constructor(
    readonly slot: number,
    readonly limit: number,
    readonly types: readonly string[],
    readonly unregistered = false,
  ) {}
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
    // What the claim answers is the row's claim fields as the store now holds them; the rows are compared with the model below.
    for (const row of rows) expect(row, 'claimed row').toEqual(claimedStepOf((await store.stepGet({ stepId: row.stepId }))!));
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
  q: QueueModel,
  store: Store,
  prediction: Prediction<O | 'stale'>,
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

/** What a pod reports for its attempt. */
export type Report =
  { readonly kind: 'complete' } | { readonly kind: 'fail'; readonly retryable: boolean; readonly reason: 'error' | 'timeout' } | { readonly kind: 'release' };

function reportName(report: Report): string {
  return report.kind === 'fail' ? `fail:${report.retryable ? 'retryable' : 'fatal'}:${report.reason}` : report.kind;
}

/** One fenced write with `ref`, predicted by the model and checked against the store. */
async function sendReport(w: World, store: Store, ref: ClaimRefSpec, report: Report, tag: number): Promise<void> {
  const q = w.queue;
  const now = q.clock;
  if (report.kind === 'complete') {
    const result: Json = { done: tag };
    return fencedWrite(q, store, q.complete(ref, result), store.stepComplete({ ...ref, result, now }));
  }
  if (report.kind === 'release') return fencedWrite(q, store, q.release(ref), store.stepRelease({ ...ref, reason: 'drain', now }));
  const error = `boom ${tag}`;
  const prediction = q.fail(ref, error, report.retryable, report.reason);
  await fencedWrite(q, store, prediction, store.stepFail({ ...ref, error, retryable: report.retryable, reason: report.reason, now }));
}

/** A complete / fail / release by the holder of a step, or by a stale writer (see `resolveRef`). */
export class ReportCommand implements StoreCommand {
  constructor(
    readonly pick: number,
    readonly variant: WriterVariant,
    readonly report: Report,
  ) {}
  check = (w: Readonly<World>) => resolveRef(w, this.pick, this.variant) !== null;
  async run(w: World, store: Store): Promise<void> {
    await sendReport(w, store, resolveRef(w, this.pick, this.variant)!, this.report, this.pick);
  }
  toString = () => `${reportName(this.report)}(#${this.pick},${this.variant})`;
}

/**
 * A pod's whole turn, as its slot runs it: claim one step and at once report on it, or (`crash`) die
 * holding it, so that only the sweep can bring it back.
 */
export class WorkCommand implements StoreCommand {
  constructor(
    readonly slot: number,
    readonly report: Report | 'crash',
  ) {}
  check = (w: Readonly<World>) => !w.slots[this.slot]!.silent;
  async run(w: World, store: Store): Promise<void> {
    const podId = w.slots[this.slot]!.podId;
    const before = new Set([...w.queue.steps.values()].filter((s) => s.status === 'claimed').map((s) => s.stepId));
    await new ClaimCommand(this.slot, 1, STEP_TYPES).run(w, store);
    const claimed = [...w.queue.steps.values()].find((s) => s.status === 'claimed' && s.claimedBy === podId && !before.has(s.stepId));
    if (claimed === undefined) return;
    if (this.report === 'crash') return new KillCommand(this.slot).run(w);
    await sendReport(w, store, { stepId: claimed.stepId, podId, attempt: claimed.attempt }, this.report, claimed.attempt);
  }
  toString = () => `work(s${this.slot},${this.report === 'crash' ? 'crash' : reportName(this.report)})`;
}

/** Drain (DESIGN §3): the pod gives back every step it holds, then marks itself down and stops. */
export class DrainCommand implements StoreCommand {
  constructor(readonly slot: number) {}
  check = (w: Readonly<World>) => !w.slots[this.slot]!.silent;
  async run(w: World, store: Store): Promise<void> {
    const podId = w.slots[this.slot]!.podId;
    const held = [...w.queue.steps.values()].filter((s) => s.status === 'claimed' && s.claimedBy === podId);
    for (const step of held) await sendReport(w, store, { stepId: step.stepId, podId, attempt: step.attempt }, { kind: 'release' }, 0);
    await new MarkDownCommand(this.slot).run(w, store);
    await new KillCommand(this.slot).run(w);
  }
  toString = () => `drain(s${this.slot})`;
}

/** Operator replay of a dead-lettered step, of any step (mostly not failed: a conflict), or of an unknown id. */
export class ReplayCommand implements StoreCommand {
  constructor(
    readonly pick: number,
    readonly target: 'failed' | 'any' | 'unknown',
  ) {}
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

/** Operator cancel of any known step (pending and claimed ones are cancelled, terminal ones conflict) or of an unknown id. */
export class CancelCommand implements StoreCommand {
  constructor(
    readonly pick: number,
    readonly unknown: boolean,
  ) {}
  check = (w: Readonly<World>) => this.unknown || w.queue.steps.size > 0;
  async run(w: World, store: Store): Promise<void> {
    const q = w.queue;
    const ids = [...q.steps.keys()];
    const stepId = this.unknown ? 'step_0000000000ZZZZZZZZZZZZZZZZ' : ids[this.pick % ids.length]!;
    const prediction = q.cancel(stepId);
    const got = await settled(store.stepCancel({ stepId, now: q.clock }));
    const expected = { not_found: NotFoundError, conflict: ConflictError, cancelled: null }[prediction.outcome];
    if (expected !== null) expect(got.ok ? got.value : got.error, `cancel of a ${q.steps.get(stepId)?.status ?? 'unknown'} step`).toBeInstanceOf(expected);
    else expect(rowView(valueOf(got).step), 'cancelled row').toEqual(rowView(q.steps.get(stepId)!));
    await conclude(q, store, prediction);
  }
  toString = () => `cancel(${this.unknown ? 'unknown' : `#${this.pick}`})`;
}

export class RegisterCommand implements StoreCommand {
  constructor(
    readonly slot: number,
    readonly fresh: boolean,
  ) {}
  check = () => true;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const slot = slots[this.slot]!;
    if (this.fresh) slot.podId = podIdOf(slot.name, ++slot.incarnation);
    slot.silent = false;
    q.register(slot.podId, slot.name);
    const row = await store.podRegister({ podId: slot.podId, name: slot.name, meta: META, now: q.clock });
    expect({ podId: row.podId, status: row.status, birthTs: row.birthTs, lastHeartbeatTs: row.lastHeartbeatTs, live: row.live }, 'registered pod').toEqual({
      podId: slot.podId,
      status: 'up',
      birthTs: q.clock,
      lastHeartbeatTs: q.clock,
      live: true,
    });
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
  async run({ slots }: Pick<World, 'slots'>): Promise<void> {
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
  constructor(
    readonly sweeperSlot: number | null,
    readonly dryRun: boolean,
  ) {}
  check = () => true;
  async run({ queue: q, slots }: World, store: Store): Promise<void> {
    const podId = this.sweeperSlot === null ? undefined : slots[this.sweeperSlot]!.podId;
    const prediction = q.sweep(podId ?? null, this.dryRun);
    const got = await store.recoverySweep({ dryRun: this.dryRun, now: q.clock, ...(podId === undefined ? {} : { podId }) });
    const { deadPods, requeued, deadLettered } = prediction.outcome;
    expect(
      {
        dryRun: got.dryRun,
        deadPods: [...got.deadPods].sort(),
        requeued: [...got.requeued].sort(),
        deadLettered: [...got.deadLettered].sort(),
        orphanedSteps: [...got.orphanedSteps].sort(),
      },
      'sweep summary',
    ).toEqual({ dryRun: this.dryRun, deadPods, requeued, deadLettered, orphanedSteps: [...requeued, ...deadLettered].sort() });
    await conclude(q, store, prediction);
  }
  toString = () => `sweep(${this.sweeperSlot === null ? 'anonymous' : `s${this.sweeperSlot}`}${this.dryRun ? ',dry' : ''})`;
}

/** How the pods spend a clock move: all paused, heartbeating, or heartbeating while the leader sweeps. */
export type Passing = 'paused' | 'beating' | 'sweeping';

/**
 * Moves the model clock; every later call passes the new `now`. Then, unless the pods were paused,
 * every pod still running heartbeats, as its timer would, and with `sweeping` the first of them
 * runs the recovery sweep, as the leader's timer would.
 */
export class AdvanceCommand implements StoreCommand {
  constructor(
    readonly ms: number,
    readonly passing: Passing,
  ) {}
  check = () => true;
  async run(w: World, store: Store): Promise<void> {
    w.queue.clock += this.ms;
    if (this.passing === 'paused') return conclude(w.queue, store, noEffect);
    await new HeartbeatCommand(null).run(w, store);
    const sweeper = w.slots.findIndex((s) => !s.silent);
    if (this.passing === 'sweeping') await new SweepCommand(sweeper === -1 ? null : sweeper, false).run(w, store);
  }
  toString = () => `advance(${this.ms},${this.passing})`;
}
