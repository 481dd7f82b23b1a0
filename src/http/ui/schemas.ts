/**
 * The wire schemas of the dashboard's routes, for the route table (src/http/routes.ts) and so for
 * /openapi.json: the page and its files, and the JSON the page polls (views.ts builds those bodies).
 * Schemas only; must not validate requests themselves (routes.ts under ui/ does).
 */
import { z } from 'zod';
import { eventBodySchema, queueBodySchema, stepBodySchema } from '../schemas.js';

const time = () => z.iso.datetime().describe('ISO-8601 UTC time');
const stepStatus = z.enum(['pending', 'claimed', 'completed', 'failed', 'cancelled']);

/** The dashboard's static files. */
export const UI_ASSET_FILES = ['app.js', 'app.css'] as const;
export const uiAssetParamsSchema = z.object({ file: z.enum(UI_ASSET_FILES) });

export const STEP_PAGE_MAX = 200;

/** A filter string: U+0000 fits no PostgreSQL text value, so it is refused (400) rather than sent. */
// eslint-disable-next-line no-control-regex
const noNul = z.string().regex(/^[^\u0000]*$/, { error: 'must not contain U+0000' });

/** Query of GET /ui/api/steps: every filter optional; `step_id` matches a prefix. */
export const uiStepsQuerySchema = z
  .object({
    status: stepStatus.optional(),
    type: noNul.min(1).max(64).optional(),
    step_id: noNul.min(1).max(128).optional().describe('a step id or a prefix of one'),
    idempotency_key: noNul.min(1).max(512).optional(),
    limit: z.int().min(1).max(STEP_PAGE_MAX).optional().describe('page size, default 50'),
    offset: z.int().min(0).max(1_000_000).optional().describe('steps to skip, default 0'),
  })
  .strict();

const throughputPoint = z.object({ ts: time(), completed: z.int().min(0), retried: z.int().min(0), dead_lettered: z.int().min(0) }).strict();

export const uiOverviewBodySchema = z
  .object({
    now: time(),
    queue: queueBodySchema,
    oldest_pending_age_seconds: z.number().min(0).nullable(),
    bucket_seconds: z.number().positive(),
    throughput: z.array(throughputPoint),
  })
  .strict();

const podView = z
  .object({
    pod_id: z.string(),
    name: z.string(),
    status: z.enum(['up', 'down']),
    live: z.boolean(),
    is_leader: z.boolean(),
    birth_ts: time(),
    last_heartbeat_ts: time(),
    heartbeat_age_seconds: z.number().min(0),
    capacity: z.number().nullable(),
    max_parallelism: z.number().nullable(),
    in_flight: z.number().nullable(),
    version: z.string().nullable(),
    host: z.string().nullable(),
  })
  .strict();

export const uiPodsBodySchema = z
  .object({ now: time(), leader: z.string().nullable(), leader_birth_ts: time().nullable(), live_pods: z.int().min(0), pods: z.array(podView) })
  .strict();

const stepSummary = z
  .object({
    step_id: z.string(),
    type: z.string(),
    status: stepStatus,
    priority: z.int(),
    attempt: z.int(),
    retry_count: z.int(),
    max_retries: z.int(),
    claimed_by: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    last_error: z.string().nullable(),
    created_ts: time(),
    last_update_ts: time(),
  })
  .strict();

export const uiStepPageBodySchema = z.object({ limit: z.int(), offset: z.int(), has_more: z.boolean(), steps: z.array(stepSummary) }).strict();

const pathStep = z.object({ event_id: z.int(), kind: z.string(), attempt: z.int(), ts: time(), from: z.string(), to: z.string(), legal: z.boolean() }).strict();

export const uiStepDetailBodySchema = z
  .object({
    step: stepBodySchema.extend({ history: z.array(eventBodySchema) }),
    idempotency_key: z.string(),
    run_after: time(),
    timeout_ms: z.int(),
    release_count: z.int(),
    path: z.array(pathStep).describe('the audit trail replayed through the lifecycle machine: where each event took the step'),
  })
  .strict();

export const uiLifecycleBodySchema = z
  .object({
    initial: z.string(),
    states: z.array(z.string()),
    edges: z.array(z.object({ from: z.string(), to: z.string(), event: z.string() }).strict()),
  })
  .strict();
