/**
 * Every statement of the Snowflake store except the DDL (migrations.ts): one function per operation,
 * returning the text and its bound values in placeholder order. Owns SQL text only: no sessions, no
 * decisions, no row mapping.
 *
 * Designed for Snowflake's standard tables (no SKIP LOCKED, no RETURNING, no enforced unique keys,
 * UPDATE/DELETE/MERGE serialized per table): every write is one autocommit statement, except that a
 * flow-limited claim and a keyed promotion run inside the gate's transaction (gate.ts). A write
 * stamps the rows it changed with a fresh `WRITE_TOKEN` and the audit event they owe (`EVENT_KIND`,
 * `EVENT_POD`, `EVENT_DETAIL`: an outbox of one event per row); `eventsFromWrite` then copies those
 * into STEP_EVENTS, at most once per token. Writes that depend on a row's current values carry
 * those values as conditions (optimistic), so a write that lost a race changes nothing.
 *
 * Times: TIMESTAMP_LTZ columns, read as epoch ms with DATE_PART(epoch_millisecond, …); the clock is
 * the test-only `now` when bound, else CURRENT_TIMESTAMP() (one value per statement in Snowflake).
 */
import type { Bind, Statement } from './connection.js';
import type { TypeFlowLimit } from '../store.js';
import type { SfNames } from './names.js';

/** Collects bound values in the order their `?` appear in a template literal (evaluated left to right). */
export function binder(): { readonly v: (value: Bind) => string; readonly binds: Bind[] } {
  const binds: Bind[] = [];
  return { v: (value) => (binds.push(value), '?'), binds };
}

/** The statement clock: the test-only `now` (epoch ms) or the database's. */
export function clock(v: (value: Bind) => string, now: number | null): string {
  return `COALESCE(TO_TIMESTAMP_LTZ(${v(now)}, 3), CURRENT_TIMESTAMP())`;
}

export const ms = (expr: string) => `DATE_PART(epoch_millisecond, ${expr})`;

/**
 * A duration we computed ourselves (policy thresholds), written into the text: a placeholder as a
 * DATEADD amount next to a bound timestamp would be re-ordered by the emulator's translation.
 */
function int(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite duration: ${value}`);
  return String(Math.round(value));
}

/**
 * The parents of the row `s` not yet completed (0 for a step without parents): the gate, judged by
 * the statement that reads it.
 */
export function waitingOn(n: SfNames, s = 's'): string {
  return `CASE WHEN ${s}.DEPENDS_ON IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM ${n.stepDependencies} g JOIN ${n.stepTracker} gp
    ON gp.STEP_ID = g.PARENT_STEP_ID WHERE g.STEP_ID = ${s}.STEP_ID AND gp.STATUS <> 'completed') END`;
}

/** A STEP_TRACKER row as rows.ts reads it, for alias `s`. */
export function stepColumns(n: SfNames, s = 's'): string {
  return [
    'STEP_ID',
    'TYPE',
    'ARGS',
    'METADATA',
    'PRIORITY',
    'STATUS',
    'CLAIMED_BY',
    'CLAIM_TOKEN',
    'ATTEMPT',
    'RETRY_COUNT',
    'MAX_RETRIES',
    'RELEASE_COUNT',
    'TIMEOUT_MS',
    'IDEMPOTENCY_KEY',
    'LAST_ERROR',
    'RESULT',
    'PROGRESS',
    'WRITE_TOKEN',
    'DEPENDS_ON',
  ]
    .map((c) => `${s}.${c}`)
    .concat([
      `${ms(`${s}.RUN_AFTER`)} AS RUN_AFTER_MS`,
      `${ms(`${s}.CREATED_TS`)} AS CREATED_MS`,
      `${ms(`${s}.LAST_UPDATE_TS`)} AS LAST_UPDATE_MS`,
      `${waitingOn(n, s)} AS WAITING_ON`,
      `${ms(`${s}.DEADLINE`)} AS DEADLINE_MS`,
    ])
    .join(', ');
}

/** Within a priority the earliest deadline first, none last (explicit: the emulator's default may differ). */
const CLAIM_ORDER = 'PRIORITY DESC, DEADLINE ASC NULLS LAST, CREATED_TS, STEP_ID';
const placeholders = (v: (value: Bind) => string, values: readonly Bind[]) => values.map((x) => v(x)).join(', ');

/** `status='up'` and `now − last_heartbeat_ts < threshold` for pod alias `p` (binds in text order). */
function live(p: string, v: (value: Bind) => string, thresholdMs: number, now: number | null): string {
  return `(${p}.STATUS = 'up' AND ${p}.LAST_HEARTBEAT_TS > DATEADD(millisecond, -${int(thresholdMs)}, ${clock(v, now)}))`;
}

/** One item of a submit, with its serialised JSON. */
export interface SubmitItem {
  readonly stepId: string;
  readonly type: string;
  readonly args: string;
  readonly metadata: string;
  readonly priority: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly idempotencyKey: string | null;
  readonly delayMs: number;
  readonly deadline: number | null;
  /** The `submitted` event's detail, serialised. */
  readonly detail: string;
  /** Declared parents as JSON text, or null for none. */
  readonly dependsOn: string | null;
}

/**
 * Inserts steps stamped with `token` and their `submitted` event in the outbox, as `pending`, or as
 * `staged` (invisible to claims, reads and keys) when they carry idempotency keys and must first win
 * them (`promoteSql`). An INSERT does not wait for the table lock claims and completions hold.
 */
export function submitSql(n: SfNames, items: readonly SubmitItem[], token: string, now: number | null, staged: boolean): Statement {
  const { v, binds } = binder();
  const status = staged ? 'staged' : 'pending';
  const head = `INSERT INTO ${n.stepTracker} (STEP_ID, TYPE, ARGS, METADATA, PRIORITY, STATUS, ATTEMPT, RETRY_COUNT, MAX_RETRIES,
      RELEASE_COUNT, RUN_AFTER, TIMEOUT_MS, IDEMPOTENCY_KEY, CREATED_TS, LAST_UPDATE_TS, WRITE_TOKEN, EVENT_KIND, EVENT_POD, EVENT_DETAIL,
      DEPENDS_ON, DEADLINE)
    SELECT i.STEP_ID, i.TYPE, PARSE_JSON(i.ARGS), PARSE_JSON(i.METADATA), i.PRIORITY, '${status}', 0, 0, i.MAX_RETRIES, 0,
      DATEADD(millisecond, i.DELAY_MS, c.NOW), i.TIMEOUT_MS, i.IDEMPOTENCY_KEY, c.NOW, c.NOW, ${v(token)}, 'submitted', NULL, PARSE_JSON(i.DETAIL),
      i.DEPENDS_ON, TO_TIMESTAMP_LTZ(i.DEADLINE_MS, 3)`;
  const rows = items
    .map(
      (i) =>
        `(${placeholders(v, [i.stepId, i.type, i.args, i.metadata, i.priority, i.maxRetries, i.timeoutMs, i.idempotencyKey, i.delayMs, i.detail, i.dependsOn, i.deadline])})`,
    )
    .join(', ');
  const sqlText = `${head}
    FROM (SELECT column1 AS STEP_ID, column2 AS TYPE, column3 AS ARGS, column4 AS METADATA, column5 AS PRIORITY,
                 column6 AS MAX_RETRIES, column7 AS TIMEOUT_MS, column8 AS IDEMPOTENCY_KEY, column9 AS DELAY_MS, column10 AS DETAIL,
                 column11 AS DEPENDS_ON,
                 column12 AS DEADLINE_MS
          FROM VALUES ${rows}) i
    CROSS JOIN (SELECT ${clock(v, now)} AS NOW) c`;
  return { sqlText, binds };
}

/**
 * Promotes the staged steps of `token` to `pending` only if none of their `(type, key)` is held by
 * a visible step: all or none. An UPDATE, so on Snowflake two promotions serialize on the table lock
 * and the second sees the first's committed step: keys stay unique per type without a unique index
 * (Snowflake would not enforce one).
 */
export function promoteSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.stepTracker} SET STATUS = 'pending'
    WHERE WRITE_TOKEN = ${v(token)} AND STATUS = 'staged' AND NOT EXISTS (
      SELECT 1 FROM ${n.stepTracker} s JOIN ${n.stepTracker} o ON o.TYPE = s.TYPE AND o.IDEMPOTENCY_KEY = s.IDEMPOTENCY_KEY
      WHERE s.WRITE_TOKEN = ${v(token)} AND s.STATUS = 'staged' AND o.STATUS <> 'staged')`;
  return { sqlText, binds };
}

/** Removes the staged steps of `token` (they lost a key, or their submit died before promotion). */
export function unstageSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `DELETE FROM ${n.stepTracker} WHERE WRITE_TOKEN = ${v(token)} AND STATUS = 'staged'`, binds };
}

/** Existing steps holding any of the `(type, idempotency_key)` pairs. */
export function keysTakenSql(n: SfNames, pairs: readonly (readonly [string, string])[]): Statement {
  const { v, binds } = binder();
  const where = pairs.map(([type, key]) => `(TYPE = ${v(type)} AND IDEMPOTENCY_KEY = ${v(key)})`).join(' OR ');
  return { sqlText: `SELECT STEP_ID, TYPE, IDEMPOTENCY_KEY, ARGS FROM ${n.stepTracker} WHERE STATUS <> 'staged' AND (${where})`, binds };
}

/** Step ids stamped with a write token. */
export function writtenIdsSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `SELECT STEP_ID FROM ${n.stepTracker} WHERE WRITE_TOKEN = ${v(token)}`, binds };
}

/**
 * Copies the outbox events of the rows stamped with any of `tokens` into STEP_EVENTS, each row's
 * unless its event is there already: running it twice (a retry after a lost answer, or after the
 * sweep's repair) writes each event once. One statement pays for the events of several writes.
 */
export function eventsFromWriteSql(n: SfNames, tokens: string | readonly string[]): Statement {
  const { v, binds } = binder();
  const list = typeof tokens === 'string' ? [tokens] : tokens;
  const sqlText = `INSERT INTO ${n.stepEvents} (STEP_ID, TS, KIND, POD_ID, ATTEMPT, DETAIL, WRITE_TOKEN)
    SELECT s.STEP_ID, s.LAST_UPDATE_TS, s.EVENT_KIND, s.EVENT_POD, s.ATTEMPT, s.EVENT_DETAIL, s.WRITE_TOKEN
    FROM ${n.stepTracker} s
    WHERE s.WRITE_TOKEN IN (${placeholders(v, list)})
      AND NOT EXISTS (SELECT 1 FROM ${n.stepEvents} e WHERE e.WRITE_TOKEN = s.WRITE_TOKEN AND e.STEP_ID = s.STEP_ID)
    ORDER BY s.LAST_UPDATE_TS, s.${CLAIM_ORDER.replace(/, /g, ', s.')}`;
  return { sqlText, binds };
}

/**
 * Repairs the audit trail after a writer died owing events: copies the outbox event of every row
 * whose write is older than `graceMs`, or that is claimed by a pod that is not live (an orphan the
 * sweep is about to recover, whatever the claim's age), and whose token has no event yet. Run by
 * the recovery sweep before it touches any row, so the outbox is never overwritten unread.
 */
export function eventsRepairSql(n: SfNames, now: number | null, graceMs: number): Statement {
  const { v, binds } = binder();
  const sqlText = `INSERT INTO ${n.stepEvents} (STEP_ID, TS, KIND, POD_ID, ATTEMPT, DETAIL, WRITE_TOKEN)
    SELECT s.STEP_ID, s.LAST_UPDATE_TS, s.EVENT_KIND, s.EVENT_POD, s.ATTEMPT, s.EVENT_DETAIL, s.WRITE_TOKEN
    FROM ${n.stepTracker} s
    WHERE s.WRITE_TOKEN IS NOT NULL
      AND (s.LAST_UPDATE_TS < DATEADD(millisecond, -${int(graceMs)}, ${clock(v, now)})
        OR (s.STATUS = 'claimed' AND NOT EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = s.CLAIMED_BY AND ${live('p', v, graceMs, now)})))
      AND NOT EXISTS (SELECT 1 FROM ${n.stepEvents} e WHERE e.WRITE_TOKEN = s.WRITE_TOKEN AND e.STEP_ID = s.STEP_ID)
    ORDER BY s.LAST_UPDATE_TS, s.STEP_ID`;
  return { sqlText, binds };
}

/** One event written directly (a rejected stale write: it changes no row). */
export interface EventItem {
  readonly stepId: string;
  readonly now: number | null;
  readonly kind: string;
  readonly podId: string | null;
  readonly attempt: number;
  readonly detail: string;
}

/** Inserts events given by value. */
export function eventsInsertSql(n: SfNames, events: readonly EventItem[]): Statement {
  const { v, binds } = binder();
  const rows = events.map((e) => `(${placeholders(v, [e.stepId, e.now, e.kind, e.podId, e.attempt, e.detail])})`).join(', ');
  const sqlText = `INSERT INTO ${n.stepEvents} (STEP_ID, TS, KIND, POD_ID, ATTEMPT, DETAIL)
    SELECT column1, COALESCE(TO_TIMESTAMP_LTZ(column2, 3), CURRENT_TIMESTAMP()), column3, column4, column5, PARSE_JSON(column6)
    FROM VALUES ${rows}`;
  return { sqlText, binds };
}

/**
 * The claim: one autocommit UPDATE that takes up to `limit` due pending steps of `types` in claim
 * order and stamps them with a fresh token (as CLAIM_TOKEN and WRITE_TOKEN), only while the pod is
 * up. Concurrent claims serialize on the table lock; the outer `STATUS = 'pending'` is evaluated on
 * committed data, so a step taken meanwhile is not taken again. A step whose last write's event is
 * not in STEP_EVENTS yet (its writer died between the two statements) waits for the sweep's repair,
 * so the claim never overwrites an event that is still owed.
 */
export function claimSql(
  n: SfNames,
  p: { podId: string; token: string; types: readonly string[]; limit: number; now: number | null; limits?: readonly TypeFlowLimit[] },
): Statement {
  const { v, binds } = binder();
  // The clock is written into the text (a number we made, or the database's): the emulator's
  // translation repeats some timestamp expressions, which would shift bound values.
  const now = p.now === null ? 'CURRENT_TIMESTAMP()' : `TO_TIMESTAMP_LTZ(${int(p.now)}, 3)`;
  const limit = Math.max(0, Math.floor(p.limit));
  const limited = p.limits ?? [];
  const free = p.types.filter((t) => !limited.some((l) => l.type === t));
  const order = (a: string) => `${a}.${CLAIM_ORDER.replace(/, /g, `, ${a}.`)}`;
  // Binds are collected in evaluation order, so every piece is built where its text goes.
  const candidates = (
    types: readonly string[],
    extra: () => string,
    columns = 's.STEP_ID, s.PRIORITY, s.DEADLINE, s.CREATED_TS',
  ) => `SELECT ${columns} FROM ${n.stepTracker} s
        WHERE s.STATUS = 'pending' AND s.TYPE IN (${placeholders(v, [...types])}) AND s.RUN_AFTER <= ${now}
          AND EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = ${v(p.podId)} AND p.STATUS = 'up')
          AND (s.DEPENDS_ON IS NULL OR NOT EXISTS (SELECT 1 FROM ${n.stepDependencies} g JOIN ${n.stepTracker} gp ON gp.STEP_ID = g.PARENT_STEP_ID
            WHERE g.STEP_ID = s.STEP_ID AND gp.STATUS <> 'completed'))
          AND (s.WRITE_TOKEN IS NULL OR EXISTS (SELECT 1 FROM ${n.stepEvents} e WHERE e.WRITE_TOKEN = s.WRITE_TOKEN AND e.STEP_ID = s.STEP_ID)) ${extra()}`;
  const head = `UPDATE ${n.stepTracker} SET STATUS = 'claimed', CLAIMED_BY = ${v(p.podId)}, CLAIM_TOKEN = ${v(p.token)},
      ATTEMPT = ATTEMPT + 1, LAST_UPDATE_TS = ${now}, CLAIMED_TS = ${now},
      WRITE_TOKEN = ${v(p.token)}, EVENT_KIND = 'claimed', EVENT_POD = ${v(p.podId)}, EVENT_DETAIL = PARSE_JSON('{}')
    WHERE STATUS = 'pending' AND STEP_ID IN (`;
  if (limited.length === 0) {
    return { sqlText: `${head}${candidates(p.types, () => '', 's.STEP_ID')}\n      ORDER BY ${order('s')}\n      LIMIT ${limit})`, binds };
  }
  // Flow limits: each limited type's candidates are numbered in claim order and cut at its allowance,
  // counted in this same statement, which holds the table lock every claim UPDATE takes (so no other
  // claim commits between the count and this write); then all candidates, in claim order, up to
  // limit. A step whose last start is still inside the rate window is not taken (flow.ts says why).
  const window = (l: TypeFlowLimit) => `DATEADD(millisecond, -${int(l.rateLimit!.intervalMs)}, ${now})`;
  const notRestarted = (l: TypeFlowLimit) => (l.rateLimit === undefined ? '' : `AND (s.CLAIMED_TS IS NULL OR s.CLAIMED_TS <= ${window(l)})`);
  const concurrencyCap = (l: TypeFlowLimit) =>
    l.concurrency === undefined
      ? ''
      : ` AND TYPE_RANK <= ${int(l.concurrency)} - (SELECT COUNT(*) FROM ${n.stepTracker} f WHERE f.TYPE = ${v(l.type)} AND f.STATUS = 'claimed')`;
  const rateCap = (l: TypeFlowLimit) =>
    l.rateLimit === undefined
      ? ''
      : ` AND TYPE_RANK <= ${int(l.rateLimit.max)} - (SELECT COUNT(*) FROM ${n.stepTracker} f WHERE f.TYPE = ${v(l.type)} AND f.CLAIMED_TS > ${window(l)})`;
  const lists = limited.map(
    (l) => `SELECT STEP_ID, PRIORITY, DEADLINE, CREATED_TS FROM (
        SELECT c.*, ROW_NUMBER() OVER (ORDER BY ${order('c')}) AS TYPE_RANK FROM (${candidates([l.type], () => notRestarted(l))}) c
      ) WHERE TYPE_RANK <= ${limit}${concurrencyCap(l)}${rateCap(l)}`,
  );
  if (free.length > 0) lists.push(`SELECT * FROM (${candidates(free, () => '')} ORDER BY ${order('s')} LIMIT ${limit})`);
  const sqlText = `${head}
      SELECT STEP_ID FROM (SELECT u.STEP_ID, ROW_NUMBER() OVER (ORDER BY ${order('u')}) AS CLAIM_RANK FROM (${lists.join('\n      UNION ALL ')}) u)
      WHERE CLAIM_RANK <= ${limit})`;
  return { sqlText, binds };
}

/** The rows of one claim, read on the session that claimed them (read-your-writes). */
export function claimedRowsSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  return {
    sqlText: `SELECT ${stepColumns(n)} FROM ${n.stepTracker} s WHERE s.CLAIM_TOKEN = ${v(token)} ORDER BY s.${CLAIM_ORDER.replace(/, /g, ', s.')}`,
    binds,
  };
}

/**
 * `N` = 1 when the pod is registered and up; `NEXT_MS`: in how many ms the earliest pending step of
 * `types` falls due (null when there is none), so an idle pod can wake for a delayed step or a
 * retry's backoff, which write no event when they fall due.
 */
export function podUpSql(n: SfNames, podId: string, types: readonly string[] = []): Statement {
  const { v, binds } = binder();
  const up = `(SELECT COUNT(*) FROM ${n.podHealth} WHERE POD_ID = ${v(podId)} AND STATUS = 'up')`;
  const next =
    types.length === 0
      ? 'NULL'
      : `(SELECT DATEDIFF(millisecond, CURRENT_TIMESTAMP(), MIN(s.RUN_AFTER)) FROM ${n.stepTracker} s
          WHERE s.STATUS = 'pending' AND s.TYPE IN (${placeholders(v, types)}))`;
  return {
    sqlText: `SELECT ${up} AS N, ${next} AS NEXT_MS`,
    binds,
  };
}

/** One fenced completion. */
export interface CompleteItem {
  readonly stepId: string;
  readonly podId: string;
  readonly attempt: number;
  readonly result: string;
  readonly now: number | null;
}

/**
 * Fenced completions, any number in one UPDATE: each item matches `(step_id, claimed_by, attempt)`
 * and `status = 'claimed'`; the rows it changed carry `token`. A second run changes nothing.
 */
export function completeSql(n: SfNames, items: readonly CompleteItem[], token: string): Statement {
  const { v, binds } = binder();
  const head = `UPDATE ${n.stepTracker} t SET STATUS = 'completed', RESULT = i.RESULT, LAST_UPDATE_TS = i.NOW,
      WRITE_TOKEN = ${v(token)}, EVENT_KIND = 'completed', EVENT_POD = i.POD_ID, EVENT_DETAIL = PARSE_JSON('{}')`;
  const rows = items.map((i) => `(${placeholders(v, [i.stepId, i.podId, i.attempt, i.result, i.now])})`).join(', ');
  const sqlText = `${head}
    FROM (SELECT column1 AS STEP_ID, column2 AS POD_ID, column3 AS ATTEMPT, PARSE_JSON(column4) AS RESULT,
                 COALESCE(TO_TIMESTAMP_LTZ(column5, 3), CURRENT_TIMESTAMP()) AS NOW
          FROM VALUES ${rows}) i
    WHERE t.STEP_ID = i.STEP_ID AND t.CLAIMED_BY = i.POD_ID AND t.ATTEMPT = i.ATTEMPT AND t.STATUS = 'claimed'`;
  return { sqlText, binds };
}

/** Rows by id (with the database time of the read). */
export function stepsByIdSql(n: SfNames, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT ${stepColumns(n)}, ${ms('CURRENT_TIMESTAMP()')} AS NOW_MS FROM ${n.stepTracker} s
    WHERE s.STEP_ID IN (${placeholders(v, ids)})`;
  return { sqlText, binds };
}

/** The database clock. */
export function nowSql(): Statement {
  return { sqlText: `SELECT ${ms('CURRENT_TIMESTAMP()')} AS NOW_MS`, binds: [] };
}

/**
 * A decided change of one row: the values it must still hold (`expect*`; a null claimedBy is not
 * checked) and the values it gets, with its outbox event. Every value is explicit, so the statement
 * needs no logic of its own; the conditions make it change nothing if the row moved meanwhile.
 */
export interface RowChange {
  readonly stepId: string;
  readonly expectStatus: string;
  readonly expectClaimedBy: string | null;
  readonly expectAttempt: number;
  readonly expectRetryCount: number;
  readonly expectReleaseCount: number;
  readonly status: string;
  readonly claimedBy: string | null;
  readonly retryCount: number;
  readonly releaseCount: number;
  readonly runAfter: number;
  readonly lastError: string | null;
  readonly now: number;
  readonly kind: string;
  readonly eventPod: string | null;
  readonly detail: string;
  /**
   * Another row that must hold this status and attempt when the statement runs (a workflow
   * cascade's parent, written by the same statement): judged on the statement's snapshot, like
   * the parent's own conditions, so the cascade applies exactly when the parent's change does.
   */
  readonly requires?: { readonly stepId: string; readonly status: string; readonly attempt: number };
}

/**
 * Applies decided changes in one UPDATE, stamping `token`. With `orphansOf` (the recovery sweep) a
 * row changes only while its holder is still not live, judged inside the statement.
 */
export function applyChangesSql(n: SfNames, changes: readonly RowChange[], token: string, orphansOf?: { now: number | null; thresholdMs: number }): Statement {
  const { v, binds } = binder();
  const head = `UPDATE ${n.stepTracker} t SET STATUS = c.STATUS, CLAIMED_BY = c.CLAIMED_BY, RETRY_COUNT = c.RETRY_COUNT,
      RELEASE_COUNT = c.RELEASE_COUNT, RUN_AFTER = TO_TIMESTAMP_LTZ(c.RUN_AFTER, 3), LAST_ERROR = c.LAST_ERROR,
      LAST_UPDATE_TS = TO_TIMESTAMP_LTZ(c.NOW, 3), WRITE_TOKEN = ${v(token)}, EVENT_KIND = c.KIND, EVENT_POD = c.EVENT_POD,
      EVENT_DETAIL = c.DETAIL`;
  const rows = changes
    .map(
      (c) =>
        `(${placeholders(v, [
          c.stepId,
          c.expectStatus,
          c.expectClaimedBy,
          c.expectAttempt,
          c.expectRetryCount,
          c.expectReleaseCount,
          c.status,
          c.claimedBy,
          c.retryCount,
          c.releaseCount,
          c.runAfter,
          c.lastError,
          c.now,
          c.kind,
          c.eventPod,
          c.detail,
          c.requires?.stepId ?? null,
          c.requires?.status ?? null,
          c.requires?.attempt ?? null,
        ])})`,
    )
    .join(', ');
  const source = `(SELECT column1 AS STEP_ID, column2 AS X_STATUS, column3 AS X_CLAIMED_BY, column4 AS X_ATTEMPT,
        column5 AS X_RETRY_COUNT, column6 AS X_RELEASE_COUNT, column7 AS STATUS, column8 AS CLAIMED_BY,
        column9 AS RETRY_COUNT, column10 AS RELEASE_COUNT, column11 AS RUN_AFTER, column12 AS LAST_ERROR,
        column13 AS NOW, column14 AS KIND, column15 AS EVENT_POD, PARSE_JSON(column16) AS DETAIL,
        column17 AS REQ_STEP, column18 AS REQ_STATUS, column19 AS REQ_ATTEMPT
      FROM VALUES ${rows}) c`;
  const guard =
    orphansOf === undefined
      ? ''
      : ` AND NOT EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = t.CLAIMED_BY AND ${live('p', v, orphansOf.thresholdMs, orphansOf.now)})`;
  const sqlText = `${head} FROM ${source}
    WHERE t.STEP_ID = c.STEP_ID AND t.STATUS = c.X_STATUS AND (c.X_CLAIMED_BY IS NULL OR t.CLAIMED_BY = c.X_CLAIMED_BY)
      AND t.ATTEMPT = c.X_ATTEMPT AND t.RETRY_COUNT = c.X_RETRY_COUNT AND t.RELEASE_COUNT = c.X_RELEASE_COUNT${guard}
      AND (c.REQ_STEP IS NULL OR EXISTS (SELECT 1 FROM ${n.stepTracker} r
        WHERE r.STEP_ID = c.REQ_STEP AND r.STATUS = c.REQ_STATUS AND r.ATTEMPT = c.REQ_ATTEMPT))`;
  return { sqlText, binds };
}

/** One row. */
export function stepGetSql(n: SfNames, stepId: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `SELECT ${stepColumns(n)} FROM ${n.stepTracker} s WHERE s.STEP_ID = ${v(stepId)}`, binds };
}

/** Audit events in order, optionally of one step, after an id, limited. */
export function eventListSql(n: SfNames, p: { stepId?: string; afterEventId?: number; limit?: number }): Statement {
  const { v, binds } = binder();
  const where = [`EVENT_ID > ${v(p.afterEventId ?? 0)}`];
  if (p.stepId !== undefined) where.push(`STEP_ID = ${v(p.stepId)}`);
  const limit = p.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(p.limit))}`;
  const sqlText = `SELECT EVENT_ID, STEP_ID, ${ms('TS')} AS TS_MS, KIND, POD_ID, ATTEMPT, DETAIL FROM ${n.stepEvents}
    WHERE ${where.join(' AND ')} ORDER BY EVENT_ID${limit}`;
  return { sqlText, binds };
}

/** Fenced progress: one UPDATE of PROGRESS only (no outbox: progress is not a transition). */
export function progressSql(n: SfNames, p: { stepId: string; podId: string; attempt: number; progress: string }): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.stepTracker} SET PROGRESS = PARSE_JSON(${v(p.progress)})
    WHERE STEP_ID = ${v(p.stepId)} AND CLAIMED_BY = ${v(p.podId)} AND ATTEMPT = ${v(p.attempt)} AND STATUS = 'claimed'`;
  return { sqlText, binds };
}

/** Of `ids` (a pod's running steps), those cancelled while `podId` held them. */
export function cancelledAmongSql(n: SfNames, podId: string, ids: readonly string[]): Statement {
  const { v, binds } = binder();
  const sqlText = `SELECT STEP_ID FROM ${n.stepTracker}
    WHERE STEP_ID IN (${placeholders(v, ids)}) AND STATUS = 'cancelled' AND CLAIMED_BY = ${v(podId)}`;
  return { sqlText, binds };
}
