/**
 * `checkStepLifecycle`: the property a step type must keep, as one call. Under generated schedules
 * (arbitraries.ts) it runs the step type through real pod machines on simulated clocks and an
 * in-memory SQLite store (world.ts), then checks the queue's invariants on the audit trail
 * (invariants.ts), each lifecycle answer against the contract (contract.ts), the user's effect log if
 * given, and, for a custom lifecycle, standalone abort scenarios and the reachability of its states
 * (graph.ts). On failure it throws `LifecycleCheckError` with the seed, the shrunk schedule, the broken
 * rules and the audit trail of the failing run. It owns the property and its report; the rules live in
 * the files named above.
 */
import fc from 'fast-check';
import type { AnyStepDefinition, StepDefinition } from '../steps/registry.js';
import type { Json, StepEvent, StepRow } from '../store/store.js';
import { abortScenarioArbitrary, scheduleArbitrary, type AbortScenario, type FaultMix, type Schedule } from './arbitraries.js';
import { checkAbortScenario, contractViolations } from './contract.js';
import type { EffectLog } from './effect-log.js';
import { lifecycleReachability, type ReachabilityReport } from './graph.js';
import { checkTrail } from './invariants.js';
import { runSchedule, SIM_POLICY, SIM_START_TS, type RunRecord } from './world.js';

/** Options of `checkStepLifecycle`; all optional. */
export interface CheckStepLifecycleOptions {
  /** Generated runs (default 25). */
  readonly numRuns?: number;
  /** fast-check seed (default: `FLEET_Q_TEST_SEED`, else a fixed one), printed on failure. */
  readonly seed?: number;
  /** A counterexample path printed on failure: replays only that case (with its seed). */
  readonly path?: string;
  /** Which faults schedules contain (all by default). */
  readonly faults?: FaultMix;
  /** Example args submits pick from (default `[{}]`); each must pass the step type's schema. */
  readonly args?: readonly Json[];
  /** Cleared before each run; after it, each completed step's key must have each effect exactly once. */
  readonly effects?: EffectLog;
  /** Longest schedule, in ops after the first submit (default 12). */
  readonly maxOps?: number;
  /** Fail when the graph check finds states of the lifecycle no event reaches (default false: only reported). */
  readonly requireAllStatesReachable?: boolean;
}

/** What a passing check saw. */
export interface CheckStepLifecycleReport {
  readonly type: string;
  readonly numRuns: number;
  readonly seed: number;
  /** For a custom lifecycle that is a state machine: which states the graph traversal reached. */
  readonly reachability?: ReachabilityReport;
}

/** The failure of `checkStepLifecycle`. */
export class LifecycleCheckError extends Error {
  constructor(
    message: string,
    readonly seed: number,
    readonly path: string | undefined,
    /** The shrunk schedule (and abort scenario), as fast-check prints it. */
    readonly counterexample: string,
    /** Every broken rule of the failing run, each starting with its id (I… queue invariants, L… lifecycle contract). */
    readonly violations: readonly string[],
    readonly trail: readonly StepEvent[],
  ) {
    super(message);
    this.name = 'LifecycleCheckError';
  }
}

const DEFAULT_SEED = 20_261_206;

class RunFailed extends Error {
  constructor(readonly violations: string[]) {
    super(violations.join('\n'));
  }
}

/**
 * Checks `definition` (its handler and its lifecycle) under generated schedules; resolves with a
 * report, or throws `LifecycleCheckError`.
 */
export async function checkStepLifecycle(definition: AnyStepDefinition, options: CheckStepLifecycleOptions = {}): Promise<CheckStepLifecycleReport> {
  const def = definition as StepDefinition;
  const args = options.args ?? [{}];
  if (args.length === 0) throw new TypeError('checkStepLifecycle: options.args must list at least one example');
  args.forEach((a, i) => {
    const parsed = def.args.safeParse(a);
    if (!parsed.success)
      throw new TypeError(
        `checkStepLifecycle: example args[${i}] ${JSON.stringify(a)} fail the schema of '${def.type}' (pass valid examples as options.args): ${parsed.error.message}`,
      );
  });
  const seed = options.seed ?? envSeed() ?? DEFAULT_SEED;
  const numRuns = options.numRuns ?? 25;
  const maxRetries = def.maxRetries ?? 3;
  const custom = def.lifecycle !== undefined;
  const scenario: fc.Arbitrary<AbortScenario | null> = custom ? abortScenarioArbitrary(args.length, maxRetries, options.faults) : fc.constant(null);

  const reachability = custom ? lifecycleReachability(def.lifecycle!, args) : undefined;
  if (options.requireAllStatesReachable && reachability !== undefined && reachability.unreachable.length > 0) {
    throw new LifecycleCheckError(
      `checkStepLifecycle('${def.type}') broke rule G1: states no event reaches: ${reachability.unreachable.join(', ')}`,
      seed,
      undefined,
      '',
      reachability.unreachable.map((s) => `G1 unreachable state ${s}`),
      [],
    );
  }

  const violationsOf = async (schedule: Schedule, abort: AbortScenario | null): Promise<{ violations: string[]; record: RunRecord | null }> => {
    const violations: string[] = [];
    if (abort !== null) violations.push(...(await checkAbortScenario(def, args, abort)));
    const record = await runSchedule(def, args, schedule, { beforeRun: () => options.effects?.clear() });
    violations.push(...runViolations(record, options.effects));
    return { violations, record };
  };

  const property = fc.asyncProperty(scheduleArbitrary(args.length, options.faults, options.maxOps), scenario, async (schedule, abort) => {
    const { violations } = await violationsOf(schedule, abort);
    if (violations.length > 0) throw new RunFailed(violations);
  });
  const out = await fc.check(property, {
    seed,
    numRuns,
    ...(options.path === undefined ? {} : { path: options.path, endOnFailure: true }),
  });
  if (!out.failed) return { type: def.type, numRuns: out.numRuns, seed, ...(reachability === undefined ? {} : { reachability }) };

  const [schedule, abort] = out.counterexample!;
  const again = await violationsOf(schedule, abort);
  const violations =
    again.violations.length > 0 ? again.violations : out.errorInstance instanceof RunFailed ? out.errorInstance.violations : [String(out.errorInstance)];
  const trail = again.record?.events ?? [];
  const counterexample = fc.stringify(out.counterexample);
  const rule = /\b([ILG]\d+)\b/.exec(violations[0] ?? '')?.[1] ?? 'unknown';
  const message = [
    `checkStepLifecycle('${def.type}') broke rule ${rule}: ${violations[0]}`,
    ...violations.slice(1).map((v) => `  also: ${v}`),
    `seed: ${out.seed}, path: ${out.counterexamplePath ?? '(none)'} (replay: checkStepLifecycle(step, { seed: ${out.seed}, path: '${out.counterexamplePath ?? ''}' }))`,
    `after ${out.numRuns} run(s) and ${out.numShrinks} shrink(s), the shrunk counterexample [schedule, abort scenario]:`,
    `  ${counterexample}`,
    'audit trail of the failing run:',
    ...trail.map(formatEvent),
  ].join('\n');
  throw new LifecycleCheckError(message, out.seed, out.counterexamplePath ?? undefined, counterexample, violations, trail);
}

/** Every broken rule of one run: queue invariants on the trail, the replayed rows, lifecycle answers, effects. */
export function runViolations(record: RunRecord, effects?: EffectLog): string[] {
  const out = [...record.problems];
  const rows = new Map<string, StepRow>(record.rows.map((r) => [r.stepId, r]));
  const { violations, replayed } = checkTrail(record.events, {
    policy: SIM_POLICY,
    maxRetries: (id) => rows.get(id)?.maxRetries ?? 0,
    runAfterOf: () => undefined,
    podLog: record.podLog,
    final: true,
  });
  out.push(...violations);
  for (const row of record.rows) {
    const { status, claimedBy, attempt, retryCount, lastError } = row;
    const want = JSON.stringify({ status, claimedBy, attempt, retryCount, lastError });
    const got = JSON.stringify(replayed.get(row.stepId) ?? null);
    if (want !== got) out.push(`I13 ${row.stepId}: replaying its events gives ${got}, the row is ${want}`);
  }
  for (const o of record.observations) {
    const maxRetries = rows.get(o.stepId)?.maxRetries ?? 0;
    out.push(...contractViolations(o, maxRetries - retryCountAtClaim(record.events, o.stepId, o.attempt)));
  }
  if (effects !== undefined) out.push(...effects.violations(record.completedKeys));
  return out;
}

/** `retry_count` of a step when attempt `attempt` was claimed, from its trail. */
function retryCountAtClaim(events: readonly StepEvent[], stepId: string, attempt: number): number {
  let retryCount = 0;
  for (const e of events) {
    if (e.stepId !== stepId) continue;
    if (e.kind === 'claimed' && e.attempt === attempt) return retryCount;
    if (e.kind === 'retried' || e.kind === 'recovered') retryCount += 1;
    if (e.kind === 'replayed') retryCount = 0;
  }
  return retryCount;
}

function formatEvent(e: StepEvent): string {
  return `  #${e.eventId} +${e.ts - SIM_START_TS}ms ${e.stepId} ${e.kind} pod=${e.podId ?? '-'} attempt=${e.attempt} ${JSON.stringify(e.detail)}`;
}

function envSeed(): number | undefined {
  const raw = process.env.FLEET_Q_TEST_SEED;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seed = Number(raw);
  return Number.isSafeInteger(seed) ? seed : undefined;
}
