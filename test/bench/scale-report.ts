/**
 * The `--scale` run's output: a readable table with each figure as a ratio to the same run's
 * baseline (claims on the empty queue, the 5,000-step fill), the query plans, and one
 * `BENCH_SCALE_JSON {...}` line for scripts. Owns formatting only; measures nothing.
 */
import type { ClaimTiming, ScaleResult } from './scale.js';

const ms = (value: number) => `${value.toFixed(2)} ms`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
const count = (value: number) => value.toLocaleString('en-US');

function claimRow(label: string, timing: ClaimTiming, base: ClaimTiming | null): string {
  const vs = base === null ? '' : `   p50 ${ratio(timing.p50Ms, base.p50Ms)} of the empty queue's`;
  return `  ${label.padEnd(44)} p50 ${ms(timing.p50Ms).padStart(9)}  p99 ${ms(timing.p99Ms).padStart(9)}  max ${ms(timing.maxMs).padStart(9)}  (${timing.claims} claims)${vs}`;
}

/** The table and the plans, for stdout. */
export function formatScaleReport(kind: string, r: ScaleResult): string {
  const history = `${count(r.history)} completed + ${count(r.delayed)} delayed`;
  return [
    `FLEET-Q scale benchmark (${kind})`,
    '',
    'Claims of up to 10 steps, one connection, one after another:',
    claimRow('empty queue, nothing due', r.empty.idle, null),
    claimRow(`empty queue, ${count(r.pending)} due`, r.empty.busy, null),
    claimRow(`${history}, nothing due`, r.full.idle, r.empty.idle),
    claimRow(`${history}, ${count(r.pending)} due`, r.full.busy, r.empty.busy),
    '',
    'Bulk enqueue (submitBatch):',
    `  ${count(r.enqueueSmall.steps)} steps (median of 3 fresh queues): ${count(Math.round(r.enqueueSmall.perSecond))} steps/s`,
    `  ${count(r.enqueueLarge.steps)} steps: ${count(Math.round(r.enqueueLarge.perSecond))} steps/s   ${ratio(r.enqueueLarge.perSecond, r.enqueueSmall.perSecond)} of the 5,000-step rate`,
    '',
    `Retention: ${count(r.prune.steps)} steps and ${count(r.prune.events)} events pruned in ${r.prune.seconds.toFixed(1)} s (${count(Math.round(r.prune.steps / r.prune.seconds))} steps/s)`,
    claimRow('meanwhile, claims of 1 from a second store', r.prune.claimsDuring, null),
    ...Object.entries(r.plans).flatMap(([situation, plan]) => ['', `Plan: ${situation}`, indent(plan)]),
  ].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** Every figure as one line for scripts (plans left out). */
export function formatScaleJsonLine(kind: string, r: ScaleResult): string {
  const { plans: _plans, ...figures } = r;
  return `BENCH_SCALE_JSON ${JSON.stringify({ kind, ...figures })}`;
}
