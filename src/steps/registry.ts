/**
 * Step types: `defineStep` and the registry a pod claims from and a producer validates against.
 * Owns type names, args schemas and per-type defaults; never runs a handler or touches a store.
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import { FleetError, ValidationError, type FleetErrorItem } from '../errors.js';
import type { Json, TypeFlowLimit } from '../store/store.js';
import type { StepLifecycle } from './lifecycle.js';

/** Type names (DESIGN §5). */
export const STEP_TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** What a handler learns about the attempt it runs. */
export interface StepContext {
  readonly stepId: string;
  /** 1 for the first claim, +1 per claim. */
  readonly attempt: number;
  /** The submitted idempotency key, else the step id: stable across attempts. */
  readonly idempotencyKey: string;
  /**
   * Aborted at the step's timeout, at the end of the drain grace, when the pod fences itself, and
   * when an operator cancels the step (reason: an error whose message is `step aborted: cancelled`).
   */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** The results of the step's workflow parents (`depends_on`), keyed by parent step id; `{}` for a step without parents. */
  readonly parents: Readonly<Record<string, Json | null>>;
  /**
   * Reports progress, shown as `progress` by `GET /status/:step_id`: JSON of at most 4 KiB serialised
   * (else throws `ValidationError`). Written at most once per second per step, the latest value
   * winning; values reported in the last second before the attempt ends may not be written.
   */
  progress(value: Json): void;
  /**
   * Re-arms this attempt's timeout to end `ms` from now (an integer, 1 ms to 7 days, as `timeout_ms`
   * at submit; else throws `ValidationError`). Later attempts start again from the step's timeout_ms.
   */
  extend(ms: number): void;
}

/** A registered step type. Build one with `defineStep`. */
export interface StepDefinition<Args = unknown> {
  readonly type: string;
  readonly args: z.ZodType<Args, unknown>;
  readonly handler: (args: Args, ctx: StepContext) => unknown;
  /** Overrides FLEET_Q_DEFAULT_MAX_RETRIES; a submit's max_retries overrides this. */
  readonly maxRetries?: number;
  /** Overrides FLEET_Q_DEFAULT_STEP_TIMEOUT_MS; a submit's timeout_ms overrides this. */
  readonly timeoutMs?: number;
  /** Return false to dead-letter on this error without retrying. */
  readonly retryable?: (err: unknown) => boolean;
  /** XState actor logic run for each attempt in place of the default lifecycle (see steps/lifecycle.ts). */
  readonly lifecycle?: StepLifecycle;
  /** Fleet-wide: at most this many steps of the type claimed at once, across every pod. */
  readonly concurrency?: number;
  /** Fleet-wide: at most `max` claims (starts) of the type in any window of `intervalMs`. */
  readonly rateLimit?: RateLimit;
}

/** A fleet-wide rate limit of one step type: at most `max` starts in any window of `intervalMs`. */
export interface RateLimit {
  readonly max: number;
  readonly intervalMs: number;
}

/**
 * A step definition of any args type, for lists of several. `any` is deliberate: TypeScript has no
 * existential type, and `Args` sits both in `args` (output, covariant) and in `handler`'s parameter
 * (contravariant), so neither `unknown` nor `never` accepts every definition.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStepDefinition = StepDefinition<any>;

/** Declares a step type whose args are checked against `args` at submit. */
export function defineStep<S extends z.ZodType>(definition: {
  readonly type: string;
  readonly args: S;
  readonly handler: (args: z.output<S>, ctx: StepContext) => unknown;
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
  readonly retryable?: (err: unknown) => boolean;
  readonly lifecycle?: StepLifecycle;
  readonly concurrency?: number;
  readonly rateLimit?: RateLimit;
}): StepDefinition<z.output<S>> {
  const problems = definitionProblems(definition);
  if (problems.length > 0) throw new FleetError('validation_error', `invalid step definition '${definition.type}'`, { errors: problems });
  const frozen = Object.freeze({ ...definition }) as StepDefinition<z.output<S>>;
  definedInProcess.set(frozen.type, frozen as StepDefinition);
  return frozen;
}

/**
 * Every type `defineStep` has declared in this process, latest definition per name. A producer in
 * the same process as its pods (a script, a test, a monolith) then validates args against the very
 * schemas the pods run, without naming the steps twice.
 */
const definedInProcess = new Map<string, StepDefinition>();

/** The step types declared by `defineStep` in this process so far. */
export function stepsDefinedInProcess(): StepDefinition[] {
  return [...definedInProcess.values()];
}

function definitionProblems(d: {
  type: string;
  maxRetries?: number;
  timeoutMs?: number;
  handler: unknown;
  lifecycle?: unknown;
  concurrency?: unknown;
  rateLimit?: unknown;
}): FleetErrorItem[] {
  const problems: FleetErrorItem[] = [];
  if (typeof d.type !== 'string' || !STEP_TYPE_PATTERN.test(d.type)) problems.push({ loc: 'type', msg: `must match ${STEP_TYPE_PATTERN.source}` });
  if (typeof d.handler !== 'function') problems.push({ loc: 'handler', msg: 'must be a function' });
  if (d.maxRetries !== undefined && !(Number.isInteger(d.maxRetries) && d.maxRetries >= 0 && d.maxRetries <= 25)) {
    problems.push({ loc: 'maxRetries', msg: 'must be an integer from 0 to 25' });
  }
  if (d.timeoutMs !== undefined && !(Number.isInteger(d.timeoutMs) && d.timeoutMs >= 1)) problems.push({ loc: 'timeoutMs', msg: 'must be a positive integer' });
  if (d.concurrency !== undefined && !isPositiveInt(d.concurrency)) problems.push({ loc: 'concurrency', msg: 'must be a positive integer' });
  if (d.rateLimit !== undefined) {
    const r = d.rateLimit as { max?: unknown; intervalMs?: unknown } | null;
    if (typeof r !== 'object' || r === null) problems.push({ loc: 'rateLimit', msg: 'must be { max, intervalMs }' });
    else {
      if (!isPositiveInt(r.max)) problems.push({ loc: 'rateLimit.max', msg: 'must be a positive integer' });
      if (!isPositiveInt(r.intervalMs)) problems.push({ loc: 'rateLimit.intervalMs', msg: 'must be a positive integer (milliseconds)' });
    }
  }
  const logic = d.lifecycle as { transition?: unknown; getInitialSnapshot?: unknown } | null | undefined;
  if (
    logic !== undefined &&
    (typeof logic !== 'object' || logic === null || typeof logic.transition !== 'function' || typeof logic.getInitialSnapshot !== 'function')
  ) {
    problems.push({ loc: 'lifecycle', msg: 'must be XState actor logic (e.g. a machine from setup(...).createMachine)' });
  }
  return problems;
}

const isPositiveInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/** The step types one pod or producer knows, by name. */
export class StepRegistry {
  readonly #byType = new Map<string, StepDefinition>();

  constructor(definitions: readonly AnyStepDefinition[]) {
    for (const d of definitions) this.#byType.set(d.type, d as StepDefinition);
  }

  /** Registered type names, sorted. */
  types(): string[] {
    return [...this.#byType.keys()].sort();
  }

  /** The flow limits of the registered types that declare any, passed with every claim. */
  flowLimits(): TypeFlowLimit[] {
    const limits: TypeFlowLimit[] = [];
    for (const type of this.types()) {
      const d = this.#byType.get(type)!;
      if (d.concurrency === undefined && d.rateLimit === undefined) continue;
      limits.push({
        type,
        ...(d.concurrency === undefined ? {} : { concurrency: d.concurrency }),
        ...(d.rateLimit === undefined ? {} : { rateLimit: { max: d.rateLimit.max, intervalMs: d.rateLimit.intervalMs } }),
      });
    }
    return limits;
  }

  get(type: string): StepDefinition | undefined {
    return this.#byType.get(type);
  }

  /**
   * Checks args against the type's schema, returning the parsed value; throws `ValidationError`
   * naming an unknown type or every failing field (loc `args.<path>`).
   */
  parseArgs(type: string, args: unknown): Json {
    const definition = this.#byType.get(type);
    if (definition === undefined) {
      throw new ValidationError(`unknown step type '${type}'`, [{ loc: 'type', msg: `unknown step type; registered: ${this.types().join(', ')}` }]);
    }
    const parsed = definition.args.safeParse(args);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((issue) => ({ loc: ['args', ...issue.path.map(String)].join('.'), msg: issue.message }));
      throw new ValidationError(`args do not match the schema of step type '${type}'`, errors);
    }
    return parsed.data as Json;
  }
}
