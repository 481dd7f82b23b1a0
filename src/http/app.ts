/**
 * Builds the FLEET-Q HTTP API (DESIGN §5) as a fastify instance that never listens: the pod calls
 * `listen()`, tests call `inject()`. Owns what every route shares: JSON-only bodies (256 KiB, the
 * batch route 8 MiB), the one error shape for every failure (fastify's own included), unknown routes,
 * request ids, the scope guard of every route (from the one table in routes.ts), and request metrics.
 * Routes live in steps.ts, admin.ts, health.ts and docs.ts; this file must not hold one route's logic,
 * and nothing under http/ imports a store driver.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { createMetrics, registerQueueGauges, type FleetMetrics } from '../metrics.js';
import { registerQueueAgeGauges } from '../metrics/queue-age.js';
import type { PodControl } from '../pod/control.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Store } from '../store/store.js';
import type { SubmissionDefaults } from '../steps/submission.js';
import { registerAdminRoutes } from './admin.js';
import type { Schedule } from '../schedules/definition.js';
import { NO_AUTH, requireScope, type ApiAuth } from './auth.js';
import { registerDocsRoutes } from './docs.js';
import { errorBody, errorResponse, unknownRouteBody } from './errors.js';
import { methodsAt, routeSpecOf } from './routes.js';
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
  /** Recurring schedules listed by GET /admin/schedules (the pod's, checked at load); none when absent. */
  readonly schedules?: readonly Schedule[];
  /** Request and error logs; silent when absent. */
  readonly logger?: Logger;
  /** The process's metrics, so the pod's counters and the API's share one GET /metrics; fresh when absent. */
  readonly metrics?: FleetMetrics;
  /** Bearer-token checks (auth.ts `apiAuthOf`); every route is open when absent. */
  readonly auth?: ApiAuth;
  /** FLEET_Q_METRICS_PUBLIC: GET /metrics needs no token. */
  readonly metricsPublic?: boolean;
}

/** An `x-request-id` a client or proxy sent is kept when it is this plain (it goes into every log line). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: the caller's `x-request-id` when it is plain, else a fresh UUID. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
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
  const app = Fastify({
    ...(loggerInstance === undefined ? { logger: false } : { loggerInstance }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Every log line of a request carries its id (fastify's request logger is a child with it).
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    // Errors fastify answers before routing (a path parameter over 100 characters, a malformed
    // %-escape) get the one error shape too, instead of fastify's own `{ error, code, message }`.
    frameworkErrors: (err, request, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const detail = tooLong ? 'a path parameter is longer than 100 characters' : 'the URL is malformed';
      // fastify types this reply by an unresolved schema generic; it is a plain FastifyReply.
      const plain = reply as unknown as FastifyReply;
      return plain
        .code(400)
        .header('x-request-id', request.id)
        .send(errorBody(pathOf(request.url), 'validation_error', detail));
    },
  });

  acceptJsonOnly(app);
  guardEveryRoute(app, deps.auth ?? NO_AUTH, deps.metricsPublic ?? false);
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((err, request, reply) => {
    const response = errorResponse(err, pathOf(request.url));
    if (response.unexpected) request.log.error({ err }, 'request failed unexpectedly');
    else if (response.statusCode >= 500) request.log.warn({ err }, 'request failed: database');
    if (response.retryAfterSeconds !== undefined) void reply.header('retry-after', String(response.retryAfterSeconds));
    return reply.code(response.statusCode).send(response.body);
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(unknownRouteBody(request.method, pathOf(request.url))));
  // A known path asked with another method: 405 with `Allow` (RFC 9110), before any body is read.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = pathOf(request.url);
    const allowed = methodsAt(path);
    if (allowed.length === 0) return;
    await reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send(errorBody(path, 'not_found', `no route ${request.method} ${path}; this path takes ${allowed.join(', ')}`));
    return reply;
  });

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
  registerDocsRoutes(app, deps);
  return app;
}

/**
 * Gives every route the guard of its scope in routes.ts, before its body is read; a route missing
 * from that table is a bug and fails the build of the app (so no route is ever left unguarded).
 */
function guardEveryRoute(app: FastifyInstance, auth: ApiAuth, metricsPublic: boolean): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const specs = methods.map((method) => routeSpecOf(method, route.url));
    const spec = specs[0];
    if (spec === undefined || specs.some((s) => s !== spec)) throw new Error(`route ${methods.join(',')} ${route.url} is not in src/http/routes.ts`);
    const access = spec.access === 'metrics' ? (metricsPublic ? 'open' : 'read') : spec.access;
    if (access === 'open') return;
    const guard = requireScope(auth, access);
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [guard, ...existing];
  });
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
