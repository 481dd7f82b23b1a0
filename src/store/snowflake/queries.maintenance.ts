/**
 * The Snowflake statements of pods, leadership, the recovery sweep's reads, queue statistics, the
 * DLQ page, retention and the change marker `watchWork` polls. Owns SQL text only (conventions in
 * queries.ts): no sessions, no decisions, no row mapping.
 */
import type { Bind, Statement } from './connection.js';
import type { SfNames } from './names.js';
import { binder, clock, ms, stepColumns } from './queries.js';

/**
 * A duration we computed ourselves (policy thresholds), written into the text: a placeholder as a
 * DATEADD amount next to a bound timestamp would be re-ordered by the emulator's translation.
 */
function int(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite duration: ${value}`);
  return String(Math.round(value));
}

/** A POD_HEALTH row with liveness at `now` (threshold bound). */
function podColumns(p: string, now: string, v: (value: Bind) => string, thresholdMs: number): string {
  return `${p}.POD_ID, ${p}.NAME, ${ms(`${p}.BIRTH_TS`)} AS BIRTH_MS, ${ms(`${p}.LAST_HEARTBEAT_TS`)} AS HEARTBEAT_MS, ${p}.STATUS, ${p}.META,
    (${p}.STATUS = 'up' AND ${p}.LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(thresholdMs)}, ${now})) AS LIVE`;
}

/** Revives a known pod: up, born and beating now. Count 0 means the pod has no row yet. */
export function podReviveSql(n: SfNames, p: { podId: string; name: string; meta: string; now: number | null }): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.podHealth} SET NAME = ${v(p.name)}, BIRTH_TS = c.NOW, LAST_HEARTBEAT_TS = c.NOW, STATUS = 'up', META = PARSE_JSON(${v(p.meta)})
    FROM (SELECT ${clock(v, p.now)} AS NOW) c WHERE POD_ID = ${v(p.podId)}`;
  return { sqlText, binds };
}

/** Inserts a new pod row (the pod id is new per process start, so only its own process writes it). */
export function podInsertSql(n: SfNames, p: { podId: string; name: string; meta: string; now: number | null }): Statement {
  const { v, binds } = binder();
  const sqlText = `INSERT INTO ${n.podHealth} (POD_ID, NAME, BIRTH_TS, LAST_HEARTBEAT_TS, STATUS, META)
    SELECT ${v(p.podId)}, ${v(p.name)}, c.NOW, c.NOW, 'up', PARSE_JSON(${v(p.meta)}) FROM (SELECT ${clock(v, p.now)} AS NOW) c`;
  return { sqlText, binds };
}

/** Heartbeat while up: count 1 is ok, 0 means gone or down. Meta null keeps the stored meta. */
export function podHeartbeatSql(n: SfNames, p: { podId: string; meta: string | null; now: number | null }): Statement {
  const { v, binds } = binder();
  const beat = clock(v, p.now);
  const meta = p.meta === null ? '' : `, META = PARSE_JSON(${v(p.meta)})`;
  const sqlText = `UPDATE ${n.podHealth} SET LAST_HEARTBEAT_TS = ${beat}${meta} WHERE POD_ID = ${v(p.podId)} AND STATUS = 'up'`;
  return { sqlText, binds };
}

export function podMarkDownSql(n: SfNames, podId: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `UPDATE ${n.podHealth} SET STATUS = 'down' WHERE POD_ID = ${v(podId)} AND STATUS = 'up'`, binds };
}

/**
 * Every pod (or, `liveOnly`, the live ones) with liveness judged at one clock, oldest first; always
 * at least one row, whose `CHECKED_MS` is that clock (pod columns null when there is no pod).
 */
export function podListSql(n: SfNames, p: { now: number | null; thresholdMs: number; liveOnly: boolean; podId?: string }): Statement {
  const { v, binds } = binder();
  // Built in text order, so the binds line up with their placeholders.
  const cols = podColumns('p', 'c.NOW', v, p.thresholdMs);
  const now = clock(v, p.now);
  const on = [p.liveOnly ? `p.STATUS = 'up' AND p.LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(p.thresholdMs)}, c.NOW)` : 'TRUE'];
  if (p.podId !== undefined) on.push(`p.POD_ID = ${v(p.podId)}`);
  const sqlText = `SELECT ${ms('c.NOW')} AS CHECKED_MS, ${cols}
    FROM (SELECT ${now} AS NOW) c LEFT JOIN ${n.podHealth} p ON ${on.join(' AND ')}
    ORDER BY p.BIRTH_TS, p.POD_ID`;
  // Text order: the clock is inside the FROM, after the select list's threshold; rebuild in text order.
  return { sqlText, binds };
}

/** Claimed steps whose holder is not live, with the clock they were judged at. */
export function orphansSql(n: SfNames, p: { now: number | null; thresholdMs: number }): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT ${stepColumns(n, 's')}, ${ms('c.NOW')} AS NOW_MS
    FROM ${n.stepTracker} s CROSS JOIN (SELECT ${clock(v, p.now)} AS NOW) c
    WHERE s.STATUS = 'claimed' AND NOT EXISTS (
      SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = s.CLAIMED_BY AND p.STATUS = 'up'
        AND p.LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(p.thresholdMs)}, c.NOW))
    ORDER BY s.STEP_ID`;
  return { sqlText, binds };
}

/** Pods `up` but not live. */
export function deadPodsSql(n: SfNames, p: { now: number | null; thresholdMs: number }): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT p.POD_ID FROM ${n.podHealth} p CROSS JOIN (SELECT ${clock(v, p.now)} AS NOW) c
    WHERE p.STATUS = 'up' AND NOT (p.LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(p.thresholdMs)}, c.NOW))
    ORDER BY p.POD_ID`;
  return { sqlText, binds };
}

/** Marks one pod down only while it is still up and not live (a second sweeper changes nothing). */
export function podMarkDeadSql(n: SfNames, p: { podId: string; now: number | null; thresholdMs: number }): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.podHealth} SET STATUS = 'down'
    WHERE POD_ID = ${v(p.podId)} AND STATUS = 'up' AND NOT (LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(p.thresholdMs)}, ${clock(v, p.now)}))`;
  return { sqlText, binds };
}

/** Counts by (kind, group): status, pending priority, active type, claims per holder. */
export function queueCountsSql(n: SfNames): Statement {
  const t = n.stepTracker;
  const sqlText = `SELECT 'status' AS K, STATUS AS G, COUNT(*) AS N FROM ${t} GROUP BY STATUS
    UNION ALL SELECT 'priority', CAST(PRIORITY AS VARCHAR), COUNT(*) FROM ${t} WHERE STATUS = 'pending' GROUP BY PRIORITY
    UNION ALL SELECT 'type', TYPE, COUNT(*) FROM ${t} WHERE STATUS IN ('pending', 'claimed') GROUP BY TYPE
    UNION ALL SELECT 'claimed', CLAIMED_BY, COUNT(*) FROM ${t} WHERE STATUS = 'claimed' GROUP BY CLAIMED_BY`;
  return { sqlText, binds: [] };
}

/** One page of the DLQ, newest first, with the total. */
export function dlqListSql(n: SfNames, p: { limit: number; offset: number }): Statement {
  const binds: Bind[] = [];
  const sqlText = `SELECT ${stepColumns(n, 's')}, COUNT(*) OVER () AS TOTAL FROM ${n.stepTracker} s WHERE s.STATUS = 'failed'
    ORDER BY s.LAST_UPDATE_TS DESC, s.STEP_ID DESC LIMIT ${Math.max(0, Math.floor(p.limit))} OFFSET ${Math.max(0, Math.floor(p.offset))}`;
  return { sqlText, binds };
}

export function dlqCountSql(n: SfNames): Statement {
  return { sqlText: `SELECT COUNT(*) AS N FROM ${n.stepTracker} WHERE STATUS = 'failed'`, binds: [] };
}

/** Retention, in order: events of old terminal steps, the steps, then old `down` pods holding no claim. */
export function pruneSql(n: SfNames, p: { cutoffMs: number }): { events: Statement; steps: Statement; pods: Statement } {
  const old = `STATUS IN ('completed', 'failed', 'cancelled') AND LAST_UPDATE_TS < TO_TIMESTAMP_LTZ(?, 3)`;
  return {
    events: { sqlText: `DELETE FROM ${n.stepEvents} WHERE STEP_ID IN (SELECT STEP_ID FROM ${n.stepTracker} WHERE ${old})`, binds: [p.cutoffMs] },
    steps: { sqlText: `DELETE FROM ${n.stepTracker} WHERE ${old}`, binds: [p.cutoffMs] },
    pods: {
      sqlText: `DELETE FROM ${n.podHealth} WHERE STATUS = 'down' AND LAST_HEARTBEAT_TS < TO_TIMESTAMP_LTZ(?, 3)
        AND POD_ID NOT IN (SELECT CLAIMED_BY FROM ${n.stepTracker} WHERE STATUS = 'claimed' AND CLAIMED_BY IS NOT NULL)`,
      binds: [p.cutoffMs],
    },
  };
}

/**
 * The change marker `watchWork` polls: the newest event id. A MAX over a whole table is answered
 * from Snowflake's micro-partition metadata, so it needs no running warehouse.
 */
export function changeMarkerSql(n: SfNames): Statement {
  return { sqlText: `SELECT MAX(EVENT_ID) AS M FROM ${n.stepEvents}`, binds: [] };
}
