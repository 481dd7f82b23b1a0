/**
 * Human-readable renderings of the API bodies for the terminal (what `fleet-q` prints without
 * `--json`). Takes the views.ts bodies, so both outputs always describe the same data; must not read
 * a store, and never changes a value, only lays it out.
 */
import type { DlqView, QueueView, StepView } from '../http/views.js';

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

/** `fleet-q status`. */
export function formatStep(view: StepView): string[] {
  const lines = table([
    ['step_id:', view.step_id],
    ['status:', view.status],
    ['type:', view.payload.type],
    ['args:', json(view.payload.args)],
    ['metadata:', json(view.payload.metadata)],
    ['priority:', String(view.priority)],
    ['claimed_by:', view.claimed_by ?? '-'],
    ['attempt:', String(view.attempt)],
    ['retries:', `${view.retry_count} of ${view.max_retries}`],
    ['created:', view.created_ts],
    ['updated:', view.last_update_ts],
    ['last_error:', view.last_error ?? '-'],
    ['result:', view.result === null ? '-' : json(view.result)],
    ['progress:', view.progress === null ? '-' : json(view.progress)],
  ]);
  if (view.history !== undefined) {
    lines.push('history:');
    const events = view.history.map((e) => ['  ' + String(e.event_id), e.ts, e.kind, `attempt ${e.attempt}`, e.pod_id ?? '-', json(e.detail)]);
    lines.push(...table(events));
  }
  return lines;
}

function counts(record: { readonly [key: string]: number }): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** `fleet-q queue`. */
export function formatQueue(view: QueueView): string[] {
  const pods = Object.entries(view.pod_capacity).map(([pod, c]) => `${pod} ${c.current}/${c.max}`);
  return table([
    ['pending:', String(view.pending_steps)],
    ['claimed:', String(view.claimed_steps)],
    ['completed:', String(view.completed_steps)],
    ['failed (dlq):', String(view.failed_steps)],
    ['pending by priority:', counts(view.queue_depth_by_priority)],
    ['active by type:', counts(view.steps_by_type)],
    ['live pods:', `${view.active_pods}${pods.length === 0 ? '' : ` (${pods.join(', ')})`}`],
    ['leader:', view.current_leader ?? '-'],
  ]);
}

/** `fleet-q dlq list`. */
export function formatDlq(view: DlqView, offset: number): string[] {
  if (view.steps.length === 0) return [view.total === 0 ? 'The dead-letter queue is empty.' : `No steps at offset ${offset} (total ${view.total}).`];
  const rows = view.steps.map((s) => [s.step_id, s.type, String(s.retry_count), s.last_update_ts, s.last_error ?? '-']);
  const shown = `${offset + 1}-${offset + view.steps.length} of ${view.total}`;
  return [...table([['STEP_ID', 'TYPE', 'RETRIES', 'UPDATED', 'LAST_ERROR'], ...rows]), `(${shown}, newest first)`];
}
