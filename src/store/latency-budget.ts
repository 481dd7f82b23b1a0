/**
 * Each store's default heartbeat latency budget (`FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS` when unset):
 * the time a heartbeat may take from falling due to its confirmation being handled, which the
 * liveness rule (src/config/liveness.ts) needs to accept an (interval, threshold) pair. A store whose
 * statements are slow declares a larger one here. Owns these numbers only: no SQL, no driver imports
 * (configuration is checked before any driver loads).
 */
import type { StoreCapabilities } from './store.js';

/**
 * Seconds, by store kind. SQLite and PostgreSQL: a heartbeat is one single-row UPDATE. Measured with
 * `fleet_q_heartbeat_latency_seconds` on a 2-core host at load average 14, one pod beating every
 * 0.1 s for 15 s while running steps: SQLite 143 beats, all ≤ 1 ms (mean 0.15 ms); PostgreSQL 131
 * beats, mean 12 ms, 123 ≤ 25 ms, all ≤ 100 ms. The 1 s budget leaves 10× that worst case for
 * event-loop stalls and a busier database, and keeps the smallest threshold at 1 s interval + 2 s.
 * MySQL / MariaDB: the heartbeat is one UPDATE on its own small pool, like PostgreSQL's.
 * Snowflake: one statement takes 0.1–2 s, and a suspended warehouse adds seconds.
 */
export const HEARTBEAT_LATENCY_BUDGET_SECONDS: Readonly<Record<StoreCapabilities['kind'], number>> = {
  sqlite: 1,
  postgres: 1,
  mysql: 1,
  snowflake: 5,
};

/** The default budget of the store `kind` names. */
export function defaultHeartbeatLatencyBudgetSeconds(kind: StoreCapabilities['kind']): number {
  return HEARTBEAT_LATENCY_BUDGET_SECONDS[kind];
}
