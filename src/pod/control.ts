/**
 * What the HTTP API and the CLI may ask of a running pod, as an interface, so src/http/ depends on
 * this contract rather than on the pod's wiring. Owns types only.
 */
import type { RecoverySummary } from '../store/store.js';

/** The pod's own view of its health (GET /health). */
export type PodHealthStatus = 'starting' | 'healthy' | 'unhealthy' | 'draining';

export interface PodHealthView {
  /** The current incarnation's id; null until registered. */
  readonly podId: string | null;
  readonly status: PodHealthStatus;
  readonly uptimeSeconds: number;
  /** Steps in flight on this pod. */
  readonly inFlight: number;
  /** Slots: max(1, floor(max_parallelism × threshold)). */
  readonly capacity: number;
  readonly isLeader: boolean;
  readonly version: string;
  /** Epoch ms of the last leader check, or null before the first. */
  readonly lastLeaderCheck: number | null;
}

/** A recovery sweep run on demand, with the id of its cycle for logs and the audit. */
export interface RecoveryRun {
  readonly cycleId: string;
  readonly summary: RecoverySummary;
}

export interface PodControl {
  health(): PodHealthView;
  /**
   * Runs the leader's sweep now. Throws FleetError `not_leader` unless this pod leads or `force`;
   * `conflict` while a sweep is already running on this pod. `dryRun` writes nothing. `requestId`
   * (the HTTP request's id) names the run in the pod's log lines and becomes its cycle id.
   */
  runRecovery(options: { readonly force: boolean; readonly dryRun: boolean; readonly requestId?: string }): Promise<RecoveryRun>;
}
