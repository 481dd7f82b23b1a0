/**
 * A simulated queue for one schedule: an in-memory SQLite store (the real driver), pods on simulated
 * clocks (sim-pod.ts), the step type under test with its handler scripted by the schedule, and the
 * schedule's ops applied one by one; then time runs on until every step has ended. It records what
 * the checks need (the trail, the rows, each lifecycle's answers, what submits returned) and owns
 * the world's clock; the rules themselves are checked elsewhere (invariants.ts, check.ts).
 */
import { ConflictError, NonRetryableError } from '../errors.js';
import type { LifecycleObservation } from '../steps/run-lifecycle.js';
import { StepRegistry, type StepDefinition } from '../steps/registry.js';
import { openSqliteStore } from '../store/sqlite/driver.js';
import type { Json, StepEvent, StepRow, Store, StorePolicy } from '../store/store.js';
import type { HandlerBehaviour, Schedule, ScheduleOp } from './arbitraries.js';
import { clockedStore } from './clocked-store.js';
import type { PodLogEntry } from './invariants.js';
import { SIM_DEAD_POD_THRESHOLD_MS, SIM_TIMING, SimPod } from './sim-pod.js';

/** Where every simulated clock starts (2023-11-14T22:13:20Z). */
export const SIM_START_TS = 1_700_000_000_000;

/** The store policy of a simulated run, matching SIM_TIMING. */
export const SIM_POLICY: StorePolicy = { deadPodThresholdMs: SIM_DEAD_POD_THRESHOLD_MS, baseDelayMs: 100, maxDelayMs: 1_000, maxReleases: 1 };

/** A submit's max_retries when the step type sets none (FLEET_Q_DEFAULT_MAX_RETRIES's default). */
export const SIM_DEFAULT_MAX_RETRIES = 3;
/** A step's timeout when the step type sets none: 5 s of simulated time rather than 15 min. */
export const SIM_DEFAULT_TIMEOUT_MS = 5_000;

const MAX_PODS = 6;
/** Simulated time the settle phase may take before the run counts as stuck (I1). */
const SETTLE_LIMIT_MS = 2 * 60_000;

/** Everything a run left behind. */
export interface RunRecord {
  readonly events: StepEvent[];
  readonly rows: StepRow[];
  readonly podLog: readonly PodLogEntry[];
  readonly observations: LifecycleObservation[];
  /** Problems seen while running (submits that answered wrongly, a stuck run, a crashed pod). */
  readonly problems: string[];
  readonly completedKeys: string[];
}

interface Held {
  readonly release: () => void;
}

/** Runs `schedule` against `definition`; `args` are the example args submits pick from. */
export async function runSchedule(
  definition: StepDefinition,
  args: readonly Json[],
  schedule: Schedule,
  hooks: { beforeRun?: () => void } = {},
): Promise<RunRecord> {
  hooks.beforeRun?.();
  let now = SIM_START_TS;
  const raw = await openSqliteStore({ path: ':memory:', policy: SIM_POLICY });
  await raw.migrate();
  const { store, podLog } = clockedStore(raw, () => now);
  const observations: LifecycleObservation[] = [];
  const problems: string[] = [];
  const held: Held[] = [];
  const behaviours = [...schedule.handler];
  const scripted: StepDefinition = { ...definition, handler: scriptedHandler(definition, () => behaviours.shift() ?? 'real', held) };
  const registry = new StepRegistry([scripted]);
  const pods: SimPod[] = [];
  const draining = new Set<SimPod>();
  let podCount = 0;
  const active = () => pods.filter((p) => !p.paused && !p.ended && !draining.has(p));
  const spawn = (force = false) => {
    if (podCount >= MAX_PODS && !force) return;
    podCount += 1;
    pods.push(new SimPod({ name: `sim-pod-${podCount}`, store, registry, now, observeLifecycle: (o) => observations.push(o) }));
  };
  const flush = async () => {
    for (let i = 0; i < 8; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const advance = async (ms: number) => {
    const target = now + ms;
    for (let guard = 0; now < target; guard++) {
      if (guard > 20_000) throw new Error('simulation made no progress (a timer keeps re-arming with no delay)');
      const due = pods.map((p) => p.nextDue()).filter((t): t is number => t !== undefined);
      const next = Math.min(target, ...due.map((t) => Math.max(t, now + 1)));
      now = next;
      for (const p of pods) p.advanceTo(now);
      await flush();
    }
  };
  const keys = new Map<string, { stepId: string; args: number }>();
  const submitted = new Set<string>();
  const submit = async (op: Extract<ScheduleOp, { op: 'submit' }>) => {
    const params = {
      type: definition.type,
      args: args[op.args % args.length] ?? null,
      maxRetries: definition.maxRetries ?? SIM_DEFAULT_MAX_RETRIES,
      timeoutMs: definition.timeoutMs ?? SIM_DEFAULT_TIMEOUT_MS,
      ...(op.key === null ? {} : { idempotencyKey: op.key }),
    };
    const before = op.key === null ? undefined : keys.get(op.key);
    try {
      const result = await store.stepSubmit(params);
      if (before !== undefined && (result.outcome !== 'duplicate' || result.stepId !== before.stepId)) {
        problems.push(`idempotency: a repeat submit with key ${op.key} answered ${result.outcome} ${result.stepId}, expected duplicate ${before.stepId}`);
      }
      if (before === undefined && result.outcome !== 'submitted') problems.push(`submit answered ${result.outcome} for a new step`);
      submitted.add(result.stepId);
      if (op.key !== null && before === undefined) keys.set(op.key, { stepId: result.stepId, args: op.args });
    } catch (err) {
      const sameArgs = before !== undefined && JSON.stringify(args[before.args % args.length]) === JSON.stringify(params.args);
      if (!(err instanceof ConflictError) || before === undefined || sameArgs) throw err;
    }
    for (const p of active()) p.wake();
  };

  /** Freezes a pod, preferably one running a step (a process killed or stopped mid-step). */
  const kill = (pick: number) => {
    const live = active();
    const busy = live.filter((p) => p.inFlight > 0);
    const pool = busy.length > 0 ? busy : live;
    const victim = pool[pick % Math.max(1, pool.length)];
    if (victim === undefined) return;
    victim.paused = true;
    if (active().length < 2) spawn();
  };
  /**
   * The dead pods resume: their held handler calls finish, they work on for half a second of their
   * own time (reporting what finished: a late, stale write), then their timers catch up.
   */
  const lateCompletion = async () => {
    for (const h of held.splice(0)) h.release();
    await flush();
    for (let step = 0; step < 10; step++) {
      for (const p of pods) if (p.paused) p.nudge(50, now);
      await flush();
    }
    for (const p of pods) p.paused = false;
  };

  spawn();
  spawn();
  await flush();
  for (const op of schedule.ops) {
    switch (op.op) {
      case 'submit':
        await submit(op);
        break;
      case 'duplicate_submit': {
        const first = [...keys.entries()][0];
        if (first !== undefined) await submit({ op: 'submit', key: first[0], args: first[1].args });
        break;
      }
      case 'advance':
        await advance(op.ms);
        break;
      case 'pod_death':
        kill(op.pod);
        break;
      case 'zombie':
        kill(op.pod);
        await advance(SIM_DEAD_POD_THRESHOLD_MS + 2 * SIM_TIMING.recoveryIntervalMs + SIM_POLICY.maxDelayMs);
        await lateCompletion();
        break;
      case 'late_completion':
        await lateCompletion();
        break;
      case 'drain': {
        const live = active();
        const pod = live[op.pod % Math.max(1, live.length)];
        if (pod !== undefined) {
          draining.add(pod);
          pod.drain();
          if (active().length < 2) spawn();
        }
        break;
      }
      case 'dlq_replay': {
        const dlq = await store.dlqList({ limit: 500, offset: 0 });
        for (const s of dlq.steps) await store.stepReplay({ stepId: s.stepId });
        for (const p of active()) p.wake();
        break;
      }
    }
    await flush();
  }

  // Settle: faults stop (held handlers are let go, frozen pods stay dead), time runs on until every step has ended.
  if (active().length === 0) spawn(true);
  for (const h of held.splice(0)) h.release();
  const start = now;
  for (;;) {
    const rows = await readRows(store, submitted);
    if (rows.every((r) => r.status === 'completed' || r.status === 'failed')) break;
    if (now - start > SETTLE_LIMIT_MS) {
      problems.push(
        `I1 steps not ended ${SETTLE_LIMIT_MS / 60_000} simulated minutes after the faults stopped: ${rows
          .filter((r) => r.status !== 'completed' && r.status !== 'failed')
          .map((r) => `${r.stepId} ${r.status}`)
          .join(', ')}`,
      );
      break;
    }
    await advance(250);
    for (const h of held.splice(0)) h.release();
  }
  for (const p of pods) {
    if (p.crash !== undefined) problems.push(`pod ${p.name} crashed: ${String(p.crash)}`);
    p.stop();
  }
  await flush();
  const events = await readEvents(store);
  const rows = await readRows(store, submitted);
  await raw.close();
  const completedKeys = rows.filter((r) => r.status === 'completed').map((r) => r.idempotencyKey ?? r.stepId);
  return { events, rows, podLog, observations, problems, completedKeys };
}

/** The step type's handler, replaced call by call by what the schedule says. */
function scriptedHandler(definition: StepDefinition, next: () => HandlerBehaviour, held: Held[]): StepDefinition['handler'] {
  return (args, ctx) => {
    const behaviour = next();
    switch (behaviour) {
      case 'real':
        return definition.handler(args, ctx);
      case 'throw':
        throw new Error(`scripted failure of attempt ${ctx.attempt}`);
      case 'non_retryable':
        throw new NonRetryableError(`scripted non-retryable failure of attempt ${ctx.attempt}`);
      case 'hang':
        // Until the step is aborted (timeout, drain, fencing) or the schedule lets it finish late.
        return new Promise((resolve, reject) => {
          const onAbort = () => reject(ctx.signal.reason);
          if (ctx.signal.aborted) return onAbort();
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          held.push({
            release: () => {
              ctx.signal.removeEventListener('abort', onAbort);
              if (ctx.signal.aborted) return onAbort();
              try {
                resolve(definition.handler(args, ctx));
              } catch (err) {
                reject(err);
              }
            },
          });
        });
    }
  };
}

async function readRows(store: Store, ids: ReadonlySet<string>): Promise<StepRow[]> {
  const rows: StepRow[] = [];
  for (const stepId of ids) {
    const row = await store.stepGet({ stepId });
    if (row !== null) rows.push(row);
  }
  return rows;
}

async function readEvents(store: Store): Promise<StepEvent[]> {
  const all: StepEvent[] = [];
  for (let after = 0; ;) {
    const page = await store.eventList({ afterEventId: after, limit: 500 });
    if (page.length === 0) return all;
    all.push(...page);
    after = page[page.length - 1]!.eventId;
  }
}
