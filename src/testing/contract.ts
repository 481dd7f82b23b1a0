/**
 * The lifecycle contract checked on its own: one attempt of the step type run by the runtime's own
 * lifecycle runner (src/steps/run-lifecycle.ts) on a simulated clock, with its handler scripted and its
 * signal aborted when the scenario says, and kept running after the abort so that what it does then
 * is seen. Rules, by id (the failure message names them):
 * - L1 the output is exactly one of completed / retry / dead_letter (and a completed result is storable);
 * - L2 the lifecycle does not throw or crash;
 * - L3 after its abort it never answers `completed`;
 * - L4 it answers `dead_letter` with a retryable error only once the step's retries are spent.
 * It owns these checks; the queue's own invariants are invariants.ts's.
 */
import pino from 'pino';
import { SimulatedClock } from 'xstate';
import { resultEvent } from '../pod/execute-step.js';
import { isNonRetryable } from '../steps/lifecycle.js';
import { retryClassifier, runStepLifecycle, type LifecycleObservation } from '../steps/run-lifecycle.js';
import type { StepDefinition } from '../steps/registry.js';
import type { Json } from '../store/store.js';
import type { AbortScenario } from './arbitraries.js';
import { SIM_DEFAULT_MAX_RETRIES, SIM_START_TS } from './world.js';
import { NonRetryableError } from '../errors.js';

/** Simulated time a standalone run is watched for after its start or abort. */
const WATCH_MS = 60_000;

/** The rules `observation` breaks, given how many retries the step had left. */
export function contractViolations(observation: LifecycleObservation, retriesLeft: number): string[] {
  const out: string[] = [];
  const where = `${observation.stepId} attempt ${observation.attempt}`;
  // A plain handler that finishes after its abort is only slow (the runtime drops its result); a
  // lifecycle that answers `completed` then has broken the contract.
  if (observation.afterAbort && observation.outcome === 'completed') {
    if (observation.custom) out.push(`L3 ${where}: answered completed after its abort`);
  } else if (observation.violation !== undefined) {
    const rule = observation.outcome === null ? 'L2' : 'L1';
    if (!observation.retryableDeadLetter) out.push(`${rule} ${where}: ${observation.violation}`);
  }
  if (observation.retryableDeadLetter && retriesLeft > 0) {
    out.push(`L4 ${where}: dead-lettered with a retryable error while ${retriesLeft} retr${retriesLeft === 1 ? 'y was' : 'ies were'} left`);
  }
  return out;
}

/** Runs one attempt standalone under `scenario`; returns the broken rules. */
export async function checkAbortScenario(definition: StepDefinition, args: readonly Json[], scenario: AbortScenario): Promise<string[]> {
  const clock = new SimulatedClock();
  clock.set(SIM_START_TS);
  const controller = new AbortController();
  const behaviours = [...scenario.handler];
  const handler: StepDefinition['handler'] = (a, ctx) => {
    const b = behaviours.shift() ?? 'real';
    if (b === 'throw') throw new Error(`scripted failure of attempt ${ctx.attempt}`);
    if (b === 'non_retryable') throw new NonRetryableError(`scripted non-retryable failure of attempt ${ctx.attempt}`);
    if (b === 'hang') {
      return new Promise((_, reject) => {
        if (ctx.signal.aborted) reject(ctx.signal.reason);
        else ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
    }
    return definition.handler(a, ctx);
  };
  const observations: LifecycleObservation[] = [];
  const stepId = 'step_contract_check';
  const run = runStepLifecycle({
    definition: { ...definition, handler },
    args: args[scenario.args % args.length] ?? null,
    ctx: {
      stepId,
      attempt: scenario.attempt,
      idempotencyKey: stepId,
      signal: controller.signal,
      log: pino({ level: 'silent' }),
      // Progress and extensions have no store or slot here; the contract does not depend on them.
      progress: () => undefined,
      extend: () => undefined,
      parents: {},
    },
    clock,
    retryable: retryClassifier(definition, isNonRetryable),
    toResult: resultEvent,
    keepAfterAbort: true,
    observe: (o) => observations.push(o),
  });
  void run;
  const flush = async () => {
    for (let i = 0; i < 6; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 250) {
      clock.increment(Math.min(250, ms - t));
      await flush();
    }
  };
  await flush();
  if (scenario.abortAfterMs !== null) {
    await advance(scenario.abortAfterMs);
    controller.abort(Object.assign(new Error('step aborted: timeout'), { name: 'AbortError' }));
    await flush();
  }
  // Watch it a while longer: a lifecycle may answer late, or (after the abort) wrongly.
  for (let t = 0; t < WATCH_MS && observations.length === 0; t += 1_000) await advance(1_000);
  const maxRetries = definition.maxRetries ?? SIM_DEFAULT_MAX_RETRIES;
  return observations.flatMap((o) => contractViolations(o, maxRetries - (scenario.attempt - 1)));
}
