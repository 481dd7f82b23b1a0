/**
 * The recovery sweep on Snowflake: first copy the audit events a writer killed between its two
 * statements still owed (so no outbox is overwritten unread), then read the orphans (claims whose
 * holder is not live, by database time) and the dead pods, decide each orphan's fate (decide.ts), and
 * write them with one guarded UPDATE per batch: a row changes only if it still holds what was read
 * and its holder is still not live, judged inside the statement, so two sweepers at once recover
 * each orphan once. Dead pods are marked down one conditional UPDATE each, so only one sweeper
 * reports each. Owns that flow; the SQL is in queries.ts and queries.maintenance.ts.
 */
import { randomUUID } from 'node:crypto';
import type { RecoverySummary, RecoverySweepParams, StorePolicy } from '../store.js';
import type { Answer, RunOptions, Statement } from './connection.js';
import { decideRecovery } from './decide.js';
import type { SfNames } from './names.js';
import * as q from './queries.js';
import * as m from './queries.maintenance.js';
import { toStepRow } from './rows.js';
import { cascadeChanges, readDescendants } from './workflow.js';

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** Orphans per UPDATE at most. */
const BATCH = 500;

/** Where the sweep runs: the main sessions, the control session (pod rows), names and policy. */
export interface SweepContext {
  readonly run: Run;
  readonly control: Run;
  readonly names: SfNames;
  readonly policy: StorePolicy;
}

export async function recoverySweep(ctx: SweepContext, params: RecoverySweepParams): Promise<RecoverySummary> {
  const started = performance.now();
  const { run, names, policy } = ctx;
  const now = params.now ?? null;
  const thresholdMs = policy.deadPodThresholdMs;
  const dryRun = params.dryRun === true;
  if (!dryRun) await run(q.eventsRepairSql(names, now, thresholdMs), { idempotent: true });
  const orphans = (await run(m.orphansSql(names, { now, thresholdMs }), { idempotent: true })).rows;
  const dead = (await run(m.deadPodsSql(names, { now, thresholdMs }), { idempotent: true })).rows.map((r) => String(r['POD_ID']));
  const changes = orphans.map((r) => decideRecovery(toStepRow(r), params.podId ?? null, policy, now ?? Number(r['NOW_MS']), Math.random()));
  const summary = (applied: typeof changes, deadPods: string[]): RecoverySummary => ({
    dryRun,
    deadPods,
    orphanedSteps: applied.map((c) => c.stepId),
    requeued: applied.filter((c) => c.outcome === 'recovered').map((c) => c.stepId),
    deadLettered: applied.filter((c) => c.outcome === 'dead_lettered').map((c) => c.stepId),
    durationMs: performance.now() - started,
  });
  if (dryRun) return summary(changes, dead);
  const applied: typeof changes = [];
  for (let i = 0; i < changes.length; i += BATCH) {
    const chunk = changes.slice(i, i + BATCH);
    // Dead-lettered orphans fail their pending descendants in the same UPDATE (workflow.ts).
    const heldBy = new Map(chunk.filter((c) => c.outcome === 'dead_lettered').map((c) => [c.stepId, c]));
    const found = await readDescendants(run, names, [...heldBy.keys()]);
    const cascade = cascadeChanges(found, params.podId ?? null, chunk[0]!.now, (root) => {
      const c = heldBy.get(root)!;
      return { stepId: root, status: c.expectStatus, attempt: c.expectAttempt };
    });
    const token = randomUUID();
    const { updated } = await run(q.applyChangesSql(names, [...chunk, ...cascade], token, { now, thresholdMs }), { idempotent: true });
    if (updated === 0) continue;
    const written = new Set((await run(q.writtenIdsSql(names, token), { idempotent: true })).rows.map((r) => String(r['STEP_ID'])));
    applied.push(...chunk.filter((c) => written.has(c.stepId)));
    await run(q.eventsFromWriteSql(names, token), { idempotent: true });
  }
  const downed: string[] = [];
  for (const podId of dead) {
    const { updated } = await ctx.control(m.podMarkDeadSql(names, { podId, now, thresholdMs }), { idempotent: true });
    if (updated > 0) downed.push(podId);
  }
  return summary(applied, downed);
}
