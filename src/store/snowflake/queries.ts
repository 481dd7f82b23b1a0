/**
 * Every statement of the Snowflake store except the DDL (migrations.ts): one function per operation,
 * returning the text and its bound values in placeholder order. Owns SQL text only: no sessions, no
 * decisions, no row mapping.
 *
 * Designed for Snowflake's standard tables (no SKIP LOCKED, no RETURNING, no enforced unique keys,
 * UPDATE/DELETE/MERGE serialized per table): every write is one autocommit statement. A write
 * stamps the rows it changed with a fresh `WRITE_TOKEN` and the audit event they owe (`EVENT_KIND`,
 * `EVENT_POD`, `EVENT_DETAIL`: an outbox of one event per row); `eventsFromWrite` then copies those
 * into STEP_EVENTS, at most once per token. Writes that depend on a row's current values carry
 * those values as conditions (optimistic), so a write that lost a race changes nothing.
 *
 * Times: TIMESTAMP_LTZ columns, read as epoch ms with DATE_PART(epoch_millisecond, …); the clock is
 * the test-only `now` when bound, else CURRENT_TIMESTAMP() (one value per statement in Snowflake).
 */
import type { Bind, Statement } from './connection.js';
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

/** A STEP_TRACKER row as rows.ts reads it, for alias `s`. */
export function stepColumns(s = 's'): string {
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
  ]
    .map((c) => `${s}.${c}`)
    .concat([`${ms(`${s}.RUN_AFTER`)} AS RUN_AFTER_MS`, `${ms(`${s}.CREATED_TS`)} AS CREATED_MS`, `${ms(`${s}.LAST_UPDATE_TS`)} AS LAST_UPDATE_MS`])
    .join(', ');
}

const CLAIM_ORDER = 'PRIORITY DESC, CREATED_TS, STEP_ID';
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
  /** The `submitted` event's detail, serialised. */
  readonly detail: string;
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
      RELEASE_COUNT, RUN_AFTER, TIMEOUT_MS, IDEMPOTENCY_KEY, CREATED_TS, LAST_UPDATE_TS, WRITE_TOKEN, EVENT_KIND, EVENT_POD, EVENT_DETAIL)
    SELECT i.STEP_ID, i.TYPE, PARSE_JSON(i.ARGS), PARSE_JSON(i.METADATA), i.PRIORITY, '${status}', 0, 0, i.MAX_RETRIES, 0,
      DATEADD(millisecond, i.DELAY_MS, c.NOW), i.TIMEOUT_MS, i.IDEMPOTENCY_KEY, c.NOW, c.NOW, ${v(token)}, 'submitted', NULL, PARSE_JSON(i.DETAIL)`;
  const rows = items
    .map((i) => `(${placeholders(v, [i.stepId, i.type, i.args, i.metadata, i.priority, i.maxRetries, i.timeoutMs, i.idempotencyKey, i.delayMs, i.detail])})`)
    .join(', ');
  const sqlText = `${head}
    FROM (SELECT column1 AS STEP_ID, column2 AS TYPE, column3 AS ARGS, column4 AS METADATA, column5 AS PRIORITY,
                 column6 AS MAX_RETRIES, column7 AS TIMEOUT_MS, column8 AS IDEMPOTENCY_KEY, column9 AS DELAY_MS, column10 AS DETAIL
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
 * Copies the outbox events of the rows stamped `token` into STEP_EVENTS, unless events of that
 * token are there already: running it twice (a retry after a lost answer) writes them once.
 */
export function eventsFromWriteSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  const sqlText = `INSERT INTO ${n.stepEvents} (STEP_ID, TS, KIND, POD_ID, ATTEMPT, DETAIL, WRITE_TOKEN)
    SELECT s.STEP_ID, s.LAST_UPDATE_TS, s.EVENT_KIND, s.EVENT_POD, s.ATTEMPT, s.EVENT_DETAIL, s.WRITE_TOKEN
    FROM ${n.stepTracker} s
    WHERE s.WRITE_TOKEN = ${v(token)} AND NOT EXISTS (SELECT 1 FROM ${n.stepEvents} e WHERE e.WRITE_TOKEN = ${v(token)})
    ORDER BY s.${CLAIM_ORDER.replace(/, /g, ', s.')}`;
  return { sqlText, binds };
}

/**
 * Repairs the audit trail after a writer died between its write and its events: copies the outbox
 * event of every row whose write is older than `graceMs` and whose token has no event yet. Run by
 * the recovery sweep before it touches any row, so the outbox is never overwritten unread.
 */
export function eventsRepairSql(n: SfNames, now: number | null, graceMs: number): Statement {
  const { v, binds } = binder();
  const sqlText = `INSERT INTO ${n.stepEvents} (STEP_ID, TS, KIND, POD_ID, ATTEMPT, DETAIL, WRITE_TOKEN)
    SELECT s.STEP_ID, s.LAST_UPDATE_TS, s.EVENT_KIND, s.EVENT_POD, s.ATTEMPT, s.EVENT_DETAIL, s.WRITE_TOKEN
    FROM ${n.stepTracker} s
    WHERE s.WRITE_TOKEN IS NOT NULL AND s.LAST_UPDATE_TS < DATEADD(millisecond, -${int(graceMs)}, ${clock(v, now)})
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
export function claimSql(n: SfNames, p: { podId: string; token: string; types: readonly string[]; limit: number; now: number | null }): Statement {
  const { v, binds } = binder();
  const sqlText = `UPDATE ${n.stepTracker} SET STATUS = 'claimed', CLAIMED_BY = ${v(p.podId)}, CLAIM_TOKEN = ${v(p.token)},
      ATTEMPT = ATTEMPT + 1, LAST_UPDATE_TS = ${clock(v, p.now)},
      WRITE_TOKEN = ${v(p.token)}, EVENT_KIND = 'claimed', EVENT_POD = ${v(p.podId)}, EVENT_DETAIL = PARSE_JSON('{}')
    WHERE STATUS = 'pending' AND STEP_ID IN (
      SELECT s.STEP_ID FROM ${n.stepTracker} s
      WHERE s.STATUS = 'pending' AND s.TYPE IN (${placeholders(v, [...p.types])}) AND s.RUN_AFTER <= ${clock(v, p.now)}
        AND EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = ${v(p.podId)} AND p.STATUS = 'up')
        AND (s.WRITE_TOKEN IS NULL OR EXISTS (SELECT 1 FROM ${n.stepEvents} e WHERE e.WRITE_TOKEN = s.WRITE_TOKEN AND e.STEP_ID = s.STEP_ID))
      ORDER BY s.${CLAIM_ORDER.replace(/, /g, ', s.')}
      LIMIT ${Math.max(0, Math.floor(p.limit))})`;
  return { sqlText, binds };
}

/** The rows of one claim, read on the session that claimed them (read-your-writes). */
export function claimedRowsSql(n: SfNames, token: string): Statement {
  const { v, binds } = binder();
  return {
    sqlText: `SELECT ${stepColumns()} FROM ${n.stepTracker} s WHERE s.CLAIM_TOKEN = ${v(token)} ORDER BY s.${CLAIM_ORDER.replace(/, /g, ', s.')}`,
    binds,
  };
}

/** `N` = 1 when the pod is registered and up. */
export function podUpSql(n: SfNames, podId: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `SELECT COUNT(*) AS N FROM ${n.podHealth} WHERE POD_ID = ${v(podId)} AND STATUS = 'up'`, binds };
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
  const sqlText = `SELECT ${stepColumns()}, ${ms('CURRENT_TIMESTAMP()')} AS NOW_MS FROM ${n.stepTracker} s
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
        ])})`,
    )
    .join(', ');
  const source = `(SELECT column1 AS STEP_ID, column2 AS X_STATUS, column3 AS X_CLAIMED_BY, column4 AS X_ATTEMPT,
        column5 AS X_RETRY_COUNT, column6 AS X_RELEASE_COUNT, column7 AS STATUS, column8 AS CLAIMED_BY,
        column9 AS RETRY_COUNT, column10 AS RELEASE_COUNT, column11 AS RUN_AFTER, column12 AS LAST_ERROR,
        column13 AS NOW, column14 AS KIND, column15 AS EVENT_POD, PARSE_JSON(column16) AS DETAIL
      FROM VALUES ${rows}) c`;
  const guard =
    orphansOf === undefined
      ? ''
      : ` AND NOT EXISTS (SELECT 1 FROM ${n.podHealth} p WHERE p.POD_ID = t.CLAIMED_BY AND ${live('p', v, orphansOf.thresholdMs, orphansOf.now)})`;
  const sqlText = `${head} FROM ${source}
    WHERE t.STEP_ID = c.STEP_ID AND t.STATUS = c.X_STATUS AND (c.X_CLAIMED_BY IS NULL OR t.CLAIMED_BY = c.X_CLAIMED_BY)
      AND t.ATTEMPT = c.X_ATTEMPT AND t.RETRY_COUNT = c.X_RETRY_COUNT AND t.RELEASE_COUNT = c.X_RELEASE_COUNT${guard}`;
  return { sqlText, binds };
}

/** One row. */
export function stepGetSql(n: SfNames, stepId: string): Statement {
  const { v, binds } = binder();
  return { sqlText: `SELECT ${stepColumns()} FROM ${n.stepTracker} s WHERE s.STEP_ID = ${v(stepId)}`, binds };
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
