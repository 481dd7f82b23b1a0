/**
 * GET /health (DESIGN §5): 200 `healthy`, else 503 with `starting | unhealthy | draining`, the same
 * body either way so probes and people read one shape. Reports the pod's own view (PodControl); it
 * must not query the store, so a probe never queues behind steps on a busy database.
 *
 * An app built without a pod (an API process serving producers and operators only) answers 503
 * `starting` with pod_id null and zero capacity: it runs no steps, so a load balancer or orchestrator
 * asking "may I send this pod work?" must hear no.
 */
import type { FastifyInstance } from 'fastify';
import type { PodHealthView } from '../pod/control.js';
import { FLEET_Q_VERSION } from '../version.js';
import { healthView } from './views.js';
import type { AppDeps } from './app.js';

/** Registers GET /health on `app`. */
export function registerHealthRoute(app: FastifyInstance, deps: AppDeps): void {
  const builtAt = Date.now();
  const podless = (): PodHealthView => ({
    podId: null,
    status: 'starting',
    uptimeSeconds: (Date.now() - builtAt) / 1000,
    inFlight: 0,
    capacity: 0,
    isLeader: false,
    version: FLEET_Q_VERSION,
    lastLeaderCheck: null,
  });

  app.get('/health', async (_request, reply) => {
    const health = deps.pod === undefined ? podless() : deps.pod.health();
    return reply.code(health.status === 'healthy' ? 200 : 503).send(healthView(health));
  });
}
