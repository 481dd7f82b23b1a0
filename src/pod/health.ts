/**
 * What `/health` says about a pod, read from its supervisor's snapshot: `healthy` only while it is
 * registered and claiming; `starting` before its first registration; `unhealthy` once it fenced
 * itself (until the new incarnation is registered) or stopped without a drain; `draining` from the
 * drain request on. Owns that mapping; must not query the store (a probe must never queue behind
 * steps on a busy database) nor change the pod.
 */
import type { SnapshotFrom } from 'xstate';
import type { supervisorMachine } from '../../machines/index.js';
import type { PodHealthStatus } from './control.js';

/** A snapshot of a running (or ended) supervisor actor. */
export type SupervisorSnapshot = SnapshotFrom<typeof supervisorMachine>;

/** Where the pod object is in its own life, around the machine. */
export type PodPhase = 'new' | 'starting' | 'running' | 'draining' | 'drained' | 'stopped';

/** The `/health` status of a pod in `phase` whose supervisor is at `snapshot` (absent before start). */
export function healthStatusOf(phase: PodPhase, snapshot: SupervisorSnapshot | undefined): PodHealthStatus {
  if (phase === 'draining' || phase === 'drained') return 'draining';
  if (phase === 'stopped') return 'unhealthy';
  if (snapshot === undefined || phase === 'new') return 'starting';
  if (snapshot.status !== 'active') return 'unhealthy';
  if (snapshot.context.drainRequested || snapshot.matches({ registered: 'draining' })) return 'draining';
  if (snapshot.matches({ registered: 'running' })) return 'healthy';
  // registering / waitingToRegister / fenced: the first registration is a start; a later one follows a fence.
  return snapshot.context.incarnation === 0 ? 'starting' : 'unhealthy';
}

/**
 * `healthy` only while liveness was proven within the fence window. The machine fences on a timer,
 * and a process that was paused (SIGSTOP, a long GC, a frozen VM) can serve a probe before that
 * overdue timer fires: without this check it would answer 200 under an id the others already
 * declared dead.
 */
export function livenessChecked(status: PodHealthStatus, proofAgeMs: number | undefined, windowMs: number): PodHealthStatus {
  if (status !== 'healthy') return status;
  return proofAgeMs === undefined || proofAgeMs > windowMs ? 'unhealthy' : 'healthy';
}

/** Steps running on this pod: its busy slots. */
export function inFlightOf(snapshot: SupervisorSnapshot | undefined): number {
  return snapshot === undefined ? 0 : snapshot.context.inFlight;
}

/** Whether the pod's leader machine currently holds leadership (false while unregistered). */
export function isLeaderOf(snapshot: SupervisorSnapshot | undefined): boolean {
  if (snapshot === undefined || snapshot.status !== 'active' || !snapshot.matches('registered')) return false;
  const leader = (snapshot.children as Record<string, { getSnapshot(): { context?: { isLeader?: unknown } } } | undefined>)['leader'];
  return leader?.getSnapshot().context?.isLeader === true;
}
