/**
 * Reading what happened: the whole `step_events` trail, step rows, the handlers' execution log, and
 * the checks every scenario repeats (each step completed exactly once; every recorded completion was
 * really executed by the pod and attempt it names). Checks return problems as strings, so a failing
 * test lists every offending step at once. Reads only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { StepEvent, StepRow } from '../../src/store/store.js';
import type { QueueReader } from './database.js';

/** Every event, in `event_id` order. */
export async function allEvents(reader: QueueReader): Promise<StepEvent[]> {
  const events: StepEvent[] = [];
  for (;;) {
    const page = await reader.eventList({ afterEventId: events.at(-1)?.eventId ?? 0, limit: 2_000 });
    events.push(...page);
    if (page.length < 2_000) return events;
  }
}

/** Events grouped by step, each list in `event_id` order. */
export function byStep(events: readonly StepEvent[]): Map<string, StepEvent[]> {
  const grouped = new Map<string, StepEvent[]>();
  for (const event of events) {
    const list = grouped.get(event.stepId) ?? [];
    list.push(event);
    grouped.set(event.stepId, list);
  }
  return grouped;
}

/** The rows of `stepIds`, by id; throws if one is missing. */
export async function stepRows(reader: QueueReader, stepIds: readonly string[]): Promise<Map<string, StepRow>> {
  const rows = new Map<string, StepRow>();
  for (const stepId of stepIds) {
    const row = await reader.stepGet({ stepId });
    if (row === null) throw new Error(`step ${stepId} has no row`);
    rows.set(stepId, row);
  }
  return rows;
}

/**
 * The claims `podId` never reported: steps whose last event written by that pod, stale writes aside,
 * is its `claimed`, with the attempt of that claim. For a pod that died or froze, these are exactly the
 * claims it held — read from the whole trail afterwards, so a claim that committed just after the
 * signal (a statement already on its way to PostgreSQL) is counted too.
 */
export function claimsLeftBy(events: readonly StepEvent[], podId: string): Map<string, number> {
  const last = new Map<string, StepEvent>();
  for (const event of events) if (event.podId === podId && event.kind !== 'stale_write_rejected') last.set(event.stepId, event);
  const held = new Map<string, number>();
  for (const [stepId, event] of last) if (event.kind === 'claimed') held.set(stepId, event.attempt);
  return held;
}

/** Steps of `stepIds` without exactly one `completed` event, or with a `dead_lettered` one. */
export function exactlyOnceProblems(events: ReadonlyMap<string, readonly StepEvent[]>, stepIds: readonly string[]): string[] {
  const problems: string[] = [];
  for (const stepId of stepIds) {
    const kinds = (events.get(stepId) ?? []).map((e) => e.kind);
    const completed = kinds.filter((k) => k === 'completed').length;
    if (completed !== 1 || kinds.includes('dead_lettered')) problems.push(`${stepId}: ${kinds.join(' → ')}`);
  }
  return problems;
}

/** The one `completed` event of a step (call after `exactlyOnceProblems` came back empty). */
export function completionOf(events: ReadonlyMap<string, readonly StepEvent[]>, stepId: string): StepEvent {
  const completed = (events.get(stepId) ?? []).find((e) => e.kind === 'completed');
  if (completed === undefined) throw new Error(`step ${stepId} has no completed event`);
  return completed;
}

/** One line of the execution log (fixtures/steps.mjs). */
export interface Execution {
  readonly event: 'start' | 'done' | 'aborted' | 'spinning' | 'spun';
  readonly step_id: string;
  readonly attempt: number;
  readonly pod_id: string | null;
  readonly pid: number;
  readonly ts: number;
  /** `aborted` only: the message of the signal's reason. */
  readonly reason?: string;
}

/** The execution log, in file order. */
export function readExecutions(path: string): Execution[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Execution);
}

/**
 * `completed` events of `stepIds` with no handler run that finished for the same step, attempt and
 * pod (`done` or `spun`): an outcome the store recorded that no handler produced.
 */
export function unexecutedCompletions(
  events: ReadonlyMap<string, readonly StepEvent[]>,
  stepIds: readonly string[],
  executions: readonly Execution[],
): string[] {
  const finished = new Set(executions.filter((e) => e.event === 'done' || e.event === 'spun').map((e) => `${e.step_id}/${e.attempt}/${e.pod_id}`));
  return stepIds.flatMap((stepId) => {
    const completed = completionOf(events, stepId);
    const key = `${stepId}/${completed.attempt}/${completed.podId}`;
    return finished.has(key) ? [] : [`${key} completed without a finished handler run`];
  });
}
