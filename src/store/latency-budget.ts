/**
 * Each store's default heartbeat latency budget (`FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS` when unset):
 * the time a heartbeat may take from falling due to its confirmation being handled, which the
 * liveness rule (src/config/liveness.ts) needs to accept an (interval, threshold) pair. A store whose
 * statements are slow declares a larger one here. Owns these numbers only: no SQL, no driver imports
 * (configuration is checked before any driver loads).
 */
import type { StoreCapabilities } from './store.js';

/**
 * Seconds, by store kind. SQLite and PostgreSQL: a heartbeat is one single-row UPDATE of a few ms; the
 * 1 s budget is for event-loop stalls and a busy host, and keeps the smallest threshold at 1 s
 * interval + 2 s. Snowflake: one statement takes 0.1–2 s, and a suspended warehouse adds seconds.
 */
export const HEARTBEAT_LATENCY_BUDGET_SECONDS: Readonly<Record<StoreCapabilities['kind'], number>> = {
  sqlite: 1,
  postgres: 1,
  snowflake: 5,
};

/** The default budget of the store `kind` names. */
export function defaultHeartbeatLatencyBudgetSeconds(kind: StoreCapabilities['kind']): number {
  return HEARTBEAT_LATENCY_BUDGET_SECONDS[kind];
}
