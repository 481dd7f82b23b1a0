/**
 * Builds the FLEET-Q HTTP API (DESIGN §5) as a fastify instance that never listens: the pod calls
 * `listen()`, tests call `inject()`. Owns what every route shares: JSON-only bodies (256 KiB, the
 * batch route 8 MiB), the one error shape for every failure (fastify's own included), unknown routes,
 * and request metrics. Routes live in steps.ts, admin.ts and health.ts; this file must not hold one
 * route's logic, and nothing under http/ imports a store driver.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createMetrics, registerQueueGauges, type FleetMetrics } from '../metrics.js';
import { registerQueueAgeGauges } from '../metrics/queue-age.js';
import type { PodControl } from '../pod/control.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Store } from '../store/store.js';
import type { SubmissionDefaults } from '../steps/submission.js';
import { registerAdminRoutes } from './admin.js';
import { errorResponse, unknownRouteBody } from './errors.js';
import { registerHealthRoute } from './health.js';
import { registerStepRoutes } from './steps.js';
import { registerUiRoutes } from './ui/routes.js';

/** Bodies of every route but POST /submit/batch (DESIGN §5: larger → 413 `payload_too_large`). */
export const BODY_LIMIT_BYTES = 256 * 1024;

/** What the API needs; `pod` is absent in a process that serves the API without running steps. */
export interface AppDeps {
  readonly store: Store;
  /** Step types a submit is validated against (the same set `createClient` loads). */
  readonly registry: StepRegistry;
  readonly defaults: SubmissionDefaults;
  readonly pod?: PodControl;
  /** Request and error logs; silent when absent. */
  readonly logger?: Logger;
  /** The process's metrics, so the pod's counters and the API's share one GET /metrics; fresh when absent. */
  readonly metrics?: FleetMetrics;
}

/** The request path without its query string, as reported in error bodies. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Builds (never listens) the API over `deps.store`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // pino's Logger is a FastifyBaseLogger; typing it as such keeps FastifyInstance's default generics.
  const loggerInstance: FastifyBaseLogger | undefined = deps.logger;
  const app = Fastify({ ...(loggerInstance === undefined ? { logger: false } : { loggerInstance }), bodyLimit: BODY_LIMIT_BYTES });

  acceptJsonOnly(app);

  app.setErrorHandler((err, request, reply) => {
    const response = errorResponse(err, pathOf(request.url));
    if (response.unexpected) request.log.error({ err }, 'request failed unexpectedly');
    else if (response.statusCode >= 500) request.log.warn({ err }, 'request failed: database');
    if (response.retryAfterSeconds !== undefined) void reply.header('retry-after', String(response.retryAfterSeconds));
    return reply.code(response.statusCode).send(response.body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(unknownRouteBody(request.method, pathOf(request.url))));

  const metrics = deps.metrics ?? createMetrics();
  // With a pod, only the leader reads queue-wide numbers: one read per scrape interval, not one per pod.
  const leads = deps.pod === undefined ? undefined : () => deps.pod!.health().isLeader;
  registerQueueGauges(metrics, deps.store, leads);
  registerQueueAgeGauges(metrics, deps.store, leads);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: one series per route, whatever the ids.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    metrics.httpRequestDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  registerHealthRoute(app, deps);
  registerStepRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerUiRoutes(app, deps);
  return app;
}

/**
 * JSON is the only body type (anything else: 415). An empty JSON body reads as "no body", so
 * `curl -X POST -H 'content-type: application/json' …/admin/recovery/run` works without `-d '{}'`;
 * routes that need a body then refuse it with their own 400.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
