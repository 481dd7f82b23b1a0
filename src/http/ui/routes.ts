/**
 * The dashboard at /ui (every pod serves it): the page shell and its static files, open to anyone
 * because they hold no data, and the JSON routes the page reads under /ui/api/, which need the read
 * scope like the other read routes (src/http/routes.ts gives each route its scope). Actions (DLQ replay) go through the public
 * admin route, so they need the admin scope there. Owns request parsing and which store reads answer
 * each route: at most three statements per request, so a page polling every 5 s costs the database
 * under one statement per second. Must not shape bodies (views.ts does) or import a driver.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError, ValidationError, type FleetErrorItem } from '../../errors.js';
import type { AppDeps } from '../app.js';
import { loadUiAssets } from './assets.js';
import { lifecycleGraph } from './lifecycle-path.js';
import { STEP_PAGE_MAX, uiStepsQuerySchema } from './schemas.js';
import { overviewView, podsView, stepDetailView, stepPageView, THROUGHPUT_KINDS } from './views.js';

/** The throughput chart: the last hour in one-minute buckets. */
const ACTIVITY_WINDOW_MS = 60 * 60_000;
const ACTIVITY_BUCKET_MS = 60_000;

/** A query field given as decimal digits, else a problem (an empty value is not "unset"). */
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, { error: 'must be a decimal integer' })
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const stepQuerySchema = uiStepsQuerySchema.extend({ limit: decimal(1, STEP_PAGE_MAX).default(50), offset: decimal(0, 1_000_000).default(0) });

function parseStepQuery(query: unknown): z.infer<typeof stepQuerySchema> {
  const parsed = stepQuerySchema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const errors: FleetErrorItem[] = parsed.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ loc: k, msg: 'unknown filter' })) : [{ loc: i.path.join('.') || 'query', msg: i.message }],
  );
  throw new ValidationError(errors.map((e) => `${e.loc} ${e.msg}`).join('; '), errors);
}

/** Registers /ui, its assets and /ui/api/* on `app`. */
export function registerUiRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store } = deps;
  const assets = loadUiAssets();

  const sendAsset = (name: string) => async (request: { headers: Record<string, unknown> }, reply: import('fastify').FastifyReply) => {
    const asset = assets.get(name);
    if (asset === undefined) throw new NotFoundError(`no dashboard asset ${name}`);
    void reply.header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.contentType).send(asset.body);
  };

  app.get('/ui', sendAsset('index.html'));
  app.get<{ Params: { file: string } }>('/ui/assets/:file', (request, reply) => sendAsset(request.params.file)(request, reply));

  app.get('/ui/api/overview', async () => {
    const [stats, age, activity] = await Promise.all([
      store.queueStats(),
      store.queueAge(),
      store.queueActivity({ kinds: THROUGHPUT_KINDS, windowMs: ACTIVITY_WINDOW_MS, bucketMs: ACTIVITY_BUCKET_MS }),
    ]);
    return overviewView(stats, age, activity, ACTIVITY_WINDOW_MS, ACTIVITY_BUCKET_MS);
  });

  app.get('/ui/api/pods', async () => {
    const [pods, leader] = await Promise.all([store.podList(), store.leaderGet()]);
    return podsView(pods, leader.leader, leader.checkedAt);
  });

  app.get('/ui/api/steps', async (request) => {
    const q = parseStepQuery(request.query);
    const rows = await store.stepList({
      limit: q.limit,
      offset: q.offset,
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(q.step_id === undefined ? {} : { stepIdPrefix: q.step_id }),
      ...(q.idempotency_key === undefined ? {} : { idempotencyKey: q.idempotency_key }),
    });
    return stepPageView(rows, q.limit, q.offset);
  });

  app.get<{ Params: { step_id: string } }>('/ui/api/steps/:step_id', async (request) => {
    const stepId = request.params.step_id;
    const [step, history] = await Promise.all([store.stepGet({ stepId }), store.eventList({ stepId })]);
    if (step === null) throw new NotFoundError(`step ${stepId} not found`);
    return stepDetailView(step, history, store.policy.maxReleases);
  });

  app.get('/ui/api/lifecycle', async () => lifecycleGraph());
}
