/**
 * The Snowflake statements behind dashboards and queue-age metrics: a filtered page of steps, event
 * counts per bucket over a recent window, due steps per priority, and the retirement of a pod's
 * previous incarnation. SQL text and binds only; the driver runs them. Steps still `staged` (a keyed
 * submit being promoted, see submit.ts) are never listed.
 */
import type { Bind, Statement } from './connection.js';
import type { SfNames } from './names.js';
import { binder, clock, ms, stepColumns } from './queries.js';
import type { StepListParams } from '../store.js';

const VISIBLE = `s.STATUS IN ('pending', 'claimed', 'completed', 'failed', 'cancelled')`;

/** One page of steps matching every given filter, in the order the filter's status suggests (see Store.stepList). */
export function stepListSql(n: SfNames, p: StepListParams): Statement {
  const { v, binds } = binder();
  const where = [VISIBLE];
  if (p.status !== undefined) where.push(`s.STATUS = ${v(p.status)}`);
  if (p.type !== undefined) where.push(`s.TYPE = ${v(p.type)}`);
  if (p.stepIdPrefix !== undefined && p.stepIdPrefix !== '') where.push(`STARTSWITH(s.STEP_ID, ${v(p.stepIdPrefix)})`);
  if (p.idempotencyKey !== undefined) where.push(`s.IDEMPOTENCY_KEY = ${v(p.idempotencyKey)}`);
  const order =
    p.status === undefined ? 's.STEP_ID DESC' : p.status === 'pending' ? 's.PRIORITY DESC, s.CREATED_TS, s.STEP_ID' : 's.LAST_UPDATE_TS DESC, s.STEP_ID DESC';
  const sqlText = `SELECT ${stepColumns(n, 's')} FROM ${n.stepTracker} s WHERE ${where.join(' AND ')}
    ORDER BY ${order} LIMIT ${Math.max(0, Math.floor(p.limit))} OFFSET ${Math.max(0, Math.floor(p.offset))}`;
  return { sqlText, binds };
}

/**
 * Counts of `kinds` per `bucketMs` bucket from `firstMs` to now (bound or database): rows of
 * `NOW_MS, BUCKET_MS, KIND, N`; one row with a null KIND when nothing was counted.
 */
export function queueActivitySql(n: SfNames, p: { now: number | null; firstMs: number; bucketMs: number; kinds: readonly string[] }): Statement {
  const { v, binds } = binder();
  const bucket = String(Math.max(1, Math.floor(p.bucketMs)));
  const now = clock(v, p.now);
  const kinds = p.kinds.length === 0 ? 'NULL' : p.kinds.map((k) => v(k as Bind)).join(', ');
  const sqlText = `SELECT ${ms('c.NOW')} AS NOW_MS, FLOOR(${ms('e.TS')} / ${bucket}) * ${bucket} AS BUCKET_MS, e.KIND, COUNT(e.EVENT_ID) AS N
    FROM (SELECT ${now} AS NOW) c
    LEFT JOIN ${n.stepEvents} e ON e.KIND IN (${kinds}) AND e.TS >= TO_TIMESTAMP_LTZ(${v(p.firstMs)}, 3) AND e.TS <= c.NOW
    GROUP BY c.NOW, 2, e.KIND
    ORDER BY 2, e.KIND`;
  return { sqlText, binds };
}

/**
 * Due pending steps per priority, highest first, with the oldest `run_after`: rows of
 * `NOW_MS, PRIORITY, DUE, OLDEST_MS, PAST_DEADLINE` (pending steps past their deadline, due or not,
 * the same on every row); one row with a null PRIORITY when nothing is due.
 */
export function queueAgeSql(n: SfNames, p: { now: number | null }): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT ${ms('c.NOW')} AS NOW_MS, s.PRIORITY, COUNT(s.STEP_ID) AS DUE, ${ms('MIN(s.RUN_AFTER)')} AS OLDEST_MS, d.PAST_DEADLINE
    FROM (SELECT ${clock(v, p.now)} AS NOW) c
    CROSS JOIN (SELECT COUNT(*) AS PAST_DEADLINE FROM ${n.stepTracker} x
                WHERE x.STATUS = 'pending' AND x.DEADLINE < ${clock(v, p.now)}) d
    LEFT JOIN (SELECT w.* FROM ${n.stepTracker} w WHERE w.STATUS = 'pending' AND (w.DEPENDS_ON IS NULL OR NOT EXISTS (
      SELECT 1 FROM ${n.stepDependencies} g JOIN ${n.stepTracker} gp ON gp.STEP_ID = g.PARENT_STEP_ID
      WHERE g.STEP_ID = w.STEP_ID AND gp.STATUS <> 'completed'))) s ON s.RUN_AFTER <= c.NOW
    GROUP BY c.NOW, d.PAST_DEADLINE, s.PRIORITY
    ORDER BY s.PRIORITY DESC`;
  return { sqlText, binds };
}

/** A re-registering pod's previous incarnation goes down: only its own name's row, only while still up. */
export function podRetireSql(n: SfNames, p: { previousPodId: string; name: string; podId: string }): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.podHealth} SET STATUS = 'down' WHERE POD_ID = ${v(p.previousPodId)} AND NAME = ${v(p.name)} AND STATUS = 'up' AND POD_ID <> ${v(p.podId)}`;
  return { sqlText, binds };
}
