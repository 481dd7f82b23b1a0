/**
 * Snowflake statement counting for the benchmark: every statement any snowflake-sdk connection of
 * this process executes (the store's sessions for steps, control and heartbeats, and its session
 * set-up) is counted, labelled by the shape of its text (the driver's statements carry their bound
 * values as `?`, but their IN and VALUES lists vary in length, so texts are matched by pattern, not
 * exactly). The benchmark's own connection (application `FLEET-Q-BENCH`) is not counted. Owns the
 * hook and the patterns; must not alter statements.
 */
import '../../src/store/snowflake/sdk-env.js';
import snowflake from 'snowflake-sdk';
import type { StatementCounter } from './statement-counter.js';

/** The `application` of the benchmark's own connections: never counted. */
export const BENCH_APPLICATION = 'FLEET-Q-BENCH';

let installed = false;

/** Wraps `snowflake.createConnection` once per process so that `counter` sees every statement. */
export function countSnowflakeStatements(counter: StatementCounter): void {
  if (installed) return;
  installed = true;
  const sdk = snowflake as unknown as { createConnection: (options: { application?: string }) => snowflake.Connection };
  const original = sdk.createConnection.bind(sdk);
  sdk.createConnection = (options) => {
    const connection = original(options);
    if (options.application === BENCH_APPLICATION) counter.exclude(connection);
    const execute = connection.execute.bind(connection);
    connection.execute = ((statement: { sqlText: string }) => {
      counter.record(connection, statement.sqlText, snowflakeStatementLabel(statement.sqlText));
      return execute(statement as Parameters<typeof execute>[0]);
    }) as typeof connection.execute;
    return connection;
  };
}

/** Patterns in the order they are tried; the first that matches names the statement. */
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  [/^ALTER SESSION/i, 'session_setup'],
  [/^(BEGIN|COMMIT|ROLLBACK)$/, 'gate'],
  [/^UPDATE \S*STEP_GATE /, 'gate'],
  [/^UPDATE \S*STEP_TRACKER SET STATUS = 'claimed'/, 'claim'],
  [/CLAIM_TOKEN = \? ORDER BY/, 'claim'],
  [/^UPDATE \S*STEP_TRACKER t SET STATUS = 'completed'/, 'complete'],
  [/^SELECT .* AS NOW_MS FROM \S*STEP_TRACKER s\s+WHERE s\.STEP_ID IN/s, 'step_read'],
  [/^INSERT INTO \S*STEP_EVENTS .*WHERE s\.WRITE_TOKEN IS NOT NULL/s, 'sweep'],
  [/^INSERT INTO \S*STEP_EVENTS .*WHERE s\.WRITE_TOKEN IN/s, 'events_copy'],
  [/^INSERT INTO \S*STEP_EVENTS/, 'event_insert'],
  [/^UPDATE \S*STEP_TRACKER t SET STATUS = c\.STATUS/, 'fail/release/recover'],
  [/AS N, .* AS NEXT_MS$/s, 'pod_up'],
  [/^UPDATE \S*POD_HEALTH SET LAST_HEARTBEAT_TS/, 'heartbeat'],
  [/^SELECT MAX\(EVENT_ID\) AS M/, 'watch_probe'],
  [/AS CHECKED_MS/, 'leader_check'],
  [/^SELECT p\.POD_ID FROM/, 'sweep'],
  [/AS NOW_MS FROM \S*STEP_TRACKER s CROSS JOIN/, 'sweep'],
  [/^UPDATE \S*POD_HEALTH SET STATUS = 'down'\s+WHERE/, 'sweep'],
  [/^DELETE FROM/, 'prune'],
  [/^UPDATE \S*POD_HEALTH SET (NAME|STATUS = 'down' WHERE POD_ID = \? AND NAME)|^INSERT INTO \S*POD_HEALTH/, 'register'],
  [/^UPDATE \S*POD_HEALTH SET STATUS = 'down' WHERE POD_ID = \? AND STATUS = 'up'$/, 'mark_down'],
  [/^INSERT INTO \S*STEP_TRACKER|^UPDATE \S*STEP_TRACKER SET STATUS = 'pending'|IDEMPOTENCY_KEY = \?|^DELETE FROM \S*STEP_TRACKER WHERE WRITE_TOKEN/, 'submit'],
  [/^SELECT .*NOW_MS$/, 'clock'],
];

/** The label of one statement text (undefined: the counter names it by its first words). */
export function snowflakeStatementLabel(text: string): string | undefined {
  const flat = text.replace(/\s+/g, ' ').trim();
  return PATTERNS.find(([pattern]) => pattern.test(flat))?.[1];
}
