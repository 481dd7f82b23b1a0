/**
 * The step lifecycle contract: what a step type's `lifecycle` (XState actor logic, usually a machine
 * from `setup(...).createMachine`) receives, what it must answer, and the check the runtime applies to
 * that answer. It owns the contract's types and its validation; it must not run actors (see
 * run-lifecycle.ts), write to a store or decide retries (the store does, from the verdict here).
 *
 * The contract, which the runtime enforces and `fleet-q/testing` checks:
 * - Input: `LifecycleInput` below. `clock` is the clock of the pod's actor system: `now()` in epoch ms
 *   and the `setTimeout`/`clearTimeout` pair XState schedules `after` delays with, so a lifecycle that
 *   uses `after` or `input.clock` runs on a simulated clock in tests.
 * - Output: exactly one of `{ outcome: 'completed', result }`, `{ outcome: 'retry', error }`,
 *   `{ outcome: 'dead_letter', error }`. Anything else, a lifecycle that throws or errors, or one that
 *   has not ended at the step's timeout, is a handler failure (retryable), never a success.
 * - `dead_letter` is for errors that retrying cannot fix: a `NonRetryableError`, or an error the step
 *   type's `retryable(err)` refuses. A `dead_letter` with a retryable error is recorded as a retryable
 *   failure, so the store dead-letters it only once its retries are spent.
 * - At abort (`signal` aborted: timeout, drain grace over, self-fencing) the lifecycle must stop: the
 *   runtime stops its actor and ignores anything it outputs afterwards; it must never answer
 *   `completed` for work it abandoned.
 * - The runtime, not the lifecycle, makes the fenced write (DESIGN §3), so no lifecycle can complete a
 *   step its pod no longer owns.
 */
import type { AnyActorLogic } from 'xstate';
import type { HandlerSettledEvent } from '../../machines/index.js';
import { NonRetryableError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Json } from '../store/store.js';

/** The clock a lifecycle reads and schedules with: the actor system's clock, simulated in tests. */
export interface LifecycleClock {
  /** Epoch milliseconds. */
  now(): number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the timer API xstate's clock takes
  setTimeout(fn: (...args: any[]) => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** What a lifecycle actor is started with. */
export interface LifecycleInput<Args = unknown> {
  /** The step's args, as stored (parsed by the type's schema at submit). */
  readonly args: Args;
  /** 1 for the first claim, +1 per claim. */
  readonly attempt: number;
  /** The submitted idempotency key, else the step id: stable across attempts. */
  readonly idempotencyKey: string;
  readonly stepId: string;
  /** Aborted at the timeout, at the end of the drain grace, when the pod fences itself, and on a cancel. */
  readonly signal: AbortSignal;
  readonly clock: LifecycleClock;
  readonly log: Logger;
  /** The results of the step's workflow parents, keyed by parent step id (`ctx.parents`). */
  readonly parents: Readonly<Record<string, Json | null>>;
  /** `ctx.progress` of the handler's context: rate-limited, fenced progress shown by `/status`. */
  readonly progress: (value: Json) => void;
  /** `ctx.extend` of the handler's context: re-arms the attempt's timeout to end `ms` from now. */
  readonly extend: (ms: number) => void;
  /** Runs the step type's `handler(args, ctx)` with this attempt's context; resolves its value. */
  readonly runHandler: () => Promise<unknown>;
}

/** The one answer a lifecycle gives. */
export type LifecycleOutput =
  | { readonly outcome: 'completed'; readonly result: unknown }
  | { readonly outcome: 'retry'; readonly error: unknown }
  | { readonly outcome: 'dead_letter'; readonly error: unknown };

/** Actor logic a step type may supply as `lifecycle`. */
export type StepLifecycle = AnyActorLogic;

/** How the runtime classifies errors: `retryable(err)` of the step type, `NonRetryableError` always no. */
export type RetryClassifier = (err: unknown) => boolean;

/** The result of checking one lifecycle answer. */
export interface LifecycleVerdict {
  /** What the step machine is told. */
  readonly event: HandlerSettledEvent;
  /** Set when the answer broke the contract (it is then handled as a retryable failure). */
  readonly violation?: string;
}

const OUTCOMES = new Set(['completed', 'retry', 'dead_letter']);

/**
 * `NonRetryableError` is also recognised by name: a handler module may import it from another copy of
 * the package (dist/ next to src/, or a nested node_modules), where `instanceof` fails.
 */
export function isNonRetryable(err: unknown): boolean {
  return err instanceof NonRetryableError || (err instanceof Error && err.name === 'NonRetryableError');
}

/** The message recorded as `last_error`: the error's own message, else its name, else its JSON. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * Checks a lifecycle's output against the contract. `toResult` turns a completed result into the event
 * (JSON and size checks); `retryable` classifies errors.
 */
export function verdictOf(output: unknown, retryable: RetryClassifier, toResult: (result: unknown) => HandlerSettledEvent): LifecycleVerdict {
  if (typeof output !== 'object' || output === null || !OUTCOMES.has((output as { outcome?: unknown }).outcome as string)) {
    return contractBroken(`output must be { outcome: 'completed' | 'retry' | 'dead_letter', … }, got ${preview(output)}`);
  }
  const o = output as Record<string, unknown>;
  if (hasExtraField(o)) {
    const extra = Object.keys(o).filter((k) => !isOutputField(o, k));
    return contractBroken(`output ${String(o.outcome)} has unexpected field(s) ${extra.join(', ')}`);
  }
  if (o.outcome === 'completed') return { event: toResult(o.result) };
  if (!('error' in o) || o.error === undefined || o.error === null) return contractBroken(`output ${String(o.outcome)} needs an error`);
  if (o.outcome === 'retry') return { event: { type: 'handler.failed', error: errorMessage(o.error), retryable: true } };
  if (retryable(o.error)) {
    // The store still dead-letters it when its retries are spent; before that it is retried.
    return {
      event: { type: 'handler.failed', error: errorMessage(o.error), retryable: true },
      violation: `dead_letter with a retryable error (${errorMessage(o.error)}): only a NonRetryableError or an error retryable(err) refuses may skip the remaining retries`,
    };
  }
  return { event: { type: 'handler.failed', error: errorMessage(o.error), retryable: false } };
}

const isOutputField = (o: Record<string, unknown>, key: string): boolean => key === 'outcome' || key === (o.outcome === 'completed' ? 'result' : 'error');

/** Checked on every step without allocating: the key list is built only to describe a broken output. */
function hasExtraField(o: Record<string, unknown>): boolean {
  for (const key in o) if (Object.hasOwn(o, key) && !isOutputField(o, key)) return true;
  return false;
}

/** A lifecycle actor that threw or errored: a retryable handler failure. */
export function crashVerdict(err: unknown): LifecycleVerdict {
  return contractBroken(`the lifecycle failed: ${errorMessage(err)}`);
}

function contractBroken(violation: string): LifecycleVerdict {
  return { event: { type: 'handler.failed', error: `lifecycle contract broken: ${violation}`, retryable: true }, violation };
}

function preview(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 200);
  } catch {
    return String(value);
  }
}
