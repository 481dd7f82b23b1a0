/**
 * The one table of the HTTP API's routes: method, path, the scope a token needs, and the request and
 * response schemas the OpenAPI document is generated from. app.ts refuses to register a route missing
 * here, so no route escapes its scope or the document. Owns the table; must not hold route logic.
 */
import type { z } from 'zod';
import type { Scope } from './auth.js';
import {
  batchBodySchema,
  batchResultBodySchema,
  cancelBodySchema,
  docsAssetParamsSchema,
  dlqBodySchema,
  dlqQuerySchema,
  healthBodySchema,
  idempotencyBodySchema,
  leaderBodySchema,
  queueBodySchema,
  recoveryBodySchema,
  recoveryResultBodySchema,
  replayBodySchema,
  schedulesBodySchema,
  statusQuerySchema,
  stepBodySchema,
  stepIdParamsSchema,
  submitBodySchema,
  workflowBodySchema,
} from './schemas.js';
import {
  uiAssetParamsSchema,
  uiLifecycleBodySchema,
  uiOverviewBodySchema,
  uiPodsBodySchema,
  uiStepDetailBodySchema,
  uiStepPageBodySchema,
  uiStepsQuerySchema,
} from './ui/schemas.js';

/**
 * Who may call a route: a token of a scope; `open` to anyone (probes, the API description);
 * `metrics` = `read`, or open with FLEET_Q_METRICS_PUBLIC=true.
 */
export type RouteAccess = Scope | 'open' | 'metrics';

/** One documented response; `schema` absent = not JSON (`mediaType` says what). */
export interface ResponseSpec {
  readonly description: string;
  readonly schema?: z.ZodType;
  readonly mediaType?: string | readonly string[];
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  /** fastify's pattern (`/status/:step_id`). */
  readonly url: string;
  readonly access: RouteAccess;
  readonly summary: string;
  readonly tag: 'steps' | 'admin' | 'operations' | 'dashboard';
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** `submission`: one step as POST /submit takes it, typed per registered step type by openapi.ts. */
  readonly body?: z.ZodType | 'submission';
  readonly responses: Readonly<Record<number, ResponseSpec>>;
}

/** Every route of the API; /openapi.json and the README's API table list exactly these (HEAD aside). */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    url: '/health',
    access: 'open',
    tag: 'operations',
    summary: "The pod's own view of its health; 503 while starting, fenced or draining",
    responses: {
      200: { description: 'healthy', schema: healthBodySchema },
      503: { description: 'starting, unhealthy or draining', schema: healthBodySchema },
    },
  },
  {
    method: 'POST',
    url: '/submit',
    access: 'submit',
    tag: 'steps',
    summary: 'Submit one step',
    body: 'submission',
    responses: {
      201: { description: 'submitted', schema: submitBodySchema },
      200: { description: 'a step with this idempotency key and identical args exists; nothing was submitted', schema: submitBodySchema },
    },
  },
  {
    method: 'POST',
    url: '/submit/batch',
    access: 'submit',
    tag: 'steps',
    summary: 'Submit up to 10,000 steps, all or none',
    body: batchBodySchema,
    responses: { 201: { description: 'every step submitted; ids in order', schema: batchResultBodySchema } },
  },
  {
    method: 'GET',
    url: '/status/:step_id',
    access: 'read',
    tag: 'steps',
    summary: "A step's state, with its audit trail on request",
    params: stepIdParamsSchema,
    query: statusQuerySchema,
    responses: { 200: { description: 'the step', schema: stepBodySchema } },
  },
  {
    method: 'POST',
    url: '/steps/:step_id/cancel',
    // The producer's own lever on its steps, as submit is: admin includes it.
    access: 'submit',
    tag: 'steps',
    summary:
      "Cancel a pending or running step (terminal status 'cancelled'; a running handler's signal is aborted and its later writes are refused); 409 when already terminal",
    params: stepIdParamsSchema,
    responses: { 200: { description: 'cancelled', schema: cancelBodySchema } },
  },
  {
    method: 'GET',
    url: '/workflow/:step_id',
    access: 'read',
    tag: 'steps',
    summary: 'The workflow graph reachable from a step (parents and children, transitively), each node with its status',
    params: stepIdParamsSchema,
    responses: { 200: { description: 'nodes and edges', schema: workflowBodySchema } },
  },
  {
    method: 'GET',
    url: '/idempotency/:step_id',
    access: 'read',
    tag: 'steps',
    summary: 'The idempotency key handlers see for a step',
    params: stepIdParamsSchema,
    responses: { 200: { description: 'the key', schema: idempotencyBodySchema } },
  },
  {
    method: 'GET',
    url: '/admin/leader',
    access: 'read',
    tag: 'admin',
    summary: 'The leader and the live pods',
    responses: { 200: { description: 'leadership as the database sees it now', schema: leaderBodySchema } },
  },
  {
    method: 'GET',
    url: '/admin/queue',
    access: 'read',
    tag: 'admin',
    summary: 'Counts by status, priority, type and pod',
    responses: { 200: { description: 'the queue now', schema: queueBodySchema } },
  },
  {
    method: 'GET',
    url: '/admin/schedules',
    access: 'read',
    tag: 'admin',
    summary: 'Recurring schedules with their next tick and the last tick enqueued (its step id and status)',
    responses: { 200: { description: "the pod's schedules now", schema: schedulesBodySchema } },
  },
  {
    method: 'POST',
    url: '/admin/recovery/run',
    access: 'admin',
    tag: 'admin',
    summary: "Run the leader's recovery sweep now",
    body: recoveryBodySchema,
    responses: { 200: { description: 'the sweep ran (or, with dry_run, was computed)', schema: recoveryResultBodySchema } },
  },
  {
    method: 'GET',
    url: '/admin/dlq',
    access: 'read',
    tag: 'admin',
    summary: 'The dead-letter queue, newest first',
    query: dlqQuerySchema,
    responses: { 200: { description: 'one page', schema: dlqBodySchema } },
  },
  {
    method: 'POST',
    url: '/admin/dlq/:step_id/replay',
    access: 'admin',
    tag: 'admin',
    summary: 'Send a dead-lettered step back to pending with retry_count 0',
    params: stepIdParamsSchema,
    responses: { 200: { description: 'replayed', schema: replayBodySchema } },
  },
  {
    method: 'GET',
    url: '/metrics',
    access: 'metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', mediaType: 'text/plain' } },
  },
  {
    method: 'GET',
    url: '/openapi.json',
    access: 'open',
    tag: 'operations',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', mediaType: 'application/json' } },
  },
  {
    method: 'GET',
    url: '/docs',
    access: 'open',
    tag: 'operations',
    summary: 'A browsable page of this document (Swagger UI, served from the package, nothing fetched elsewhere)',
    responses: { 200: { description: 'HTML page', mediaType: 'text/html' } },
  },
  {
    method: 'GET',
    url: '/docs/assets/:file',
    access: 'open',
    tag: 'operations',
    summary: 'The scripts and styles of the /docs page',
    params: docsAssetParamsSchema,
    responses: { 200: { description: 'a file of the swagger-ui-dist package', mediaType: ['text/css', 'text/javascript', 'image/png'] } },
  },
  {
    method: 'GET',
    url: '/ui',
    access: 'open',
    tag: 'dashboard',
    summary: 'The dashboard page (static: its data comes from /ui/api/*, which needs the read scope)',
    responses: { 200: { description: 'HTML page', mediaType: 'text/html' } },
  },
  {
    method: 'GET',
    url: '/ui/assets/:file',
    access: 'open',
    tag: 'dashboard',
    summary: "The dashboard's script and stylesheet, shipped in the package",
    params: uiAssetParamsSchema,
    responses: {
      200: { description: 'a file of the dashboard', mediaType: ['text/css', 'text/javascript'] },
      304: { description: 'unchanged (ETag)', mediaType: 'text/plain' },
    },
  },
  {
    method: 'GET',
    url: '/ui/api/overview',
    access: 'read',
    tag: 'dashboard',
    summary: 'Counts (the body of GET /admin/queue), the oldest due step, and completions, retries and dead letters per minute over the last hour',
    responses: { 200: { description: 'the overview now', schema: uiOverviewBodySchema } },
  },
  {
    method: 'GET',
    url: '/ui/api/pods',
    access: 'read',
    tag: 'dashboard',
    summary: 'Live and down pods with capacity, in-flight steps and heartbeat age; the leader',
    responses: { 200: { description: 'every pod row', schema: uiPodsBodySchema } },
  },
  {
    method: 'GET',
    url: '/ui/api/steps',
    access: 'read',
    tag: 'dashboard',
    summary: 'A page of steps by status, type, step id prefix and idempotency key, along the index that serves the filter',
    query: uiStepsQuerySchema,
    responses: { 200: { description: 'one page', schema: uiStepPageBodySchema } },
  },
  {
    method: 'GET',
    url: '/ui/api/steps/:step_id',
    access: 'read',
    tag: 'dashboard',
    summary: 'One step with its audit trail and the path it took through the lifecycle machine',
    params: stepIdParamsSchema,
    responses: { 200: { description: 'the step', schema: uiStepDetailBodySchema } },
  },
  {
    method: 'GET',
    url: '/ui/api/lifecycle',
    access: 'read',
    tag: 'dashboard',
    summary: 'The step-row lifecycle machine as a graph (the diagram the dashboard draws)',
    responses: { 200: { description: 'states and transitions', schema: uiLifecycleBodySchema } },
  },
];

/** The table entry of `method` `url` (HEAD is its GET); undefined for a route not in the table. */
export function routeSpecOf(method: string, url: string): RouteSpec | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTES.find((r) => r.method === m && r.url === url);
}

/** The methods the table serves at a concrete `path` (GET implies HEAD); empty when the path is unknown. */
export function methodsAt(path: string): string[] {
  const methods = ROUTES.filter((r) => new RegExp(`^${r.url.replace(/[.]/g, '\\.').replace(/:[A-Za-z_]+/g, '[^/]+')}$`).test(path)).map((r) => r.method);
  return methods.includes('GET') ? [...methods, 'HEAD'] : methods;
}
