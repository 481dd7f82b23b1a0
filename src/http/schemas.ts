/**
 * The zod schemas of the wire format (DESIGN §5): request parts the routes parse with, and the bodies
 * views.ts builds, from which openapi.ts generates /openapi.json. The submission fields themselves are
 * `submissionSchema` (steps/submission.ts), which every producer entry point validates with. Owns
 * shapes only: no route logic, no I/O. test/unit/http-schemas.test.ts checks views.ts against these.
 */
import { z } from 'zod';
import { DLQ_MAX_LIMIT } from './dlq-page.js';
import { MAX_BATCH_STEPS, submissionSchema } from '../steps/submission.js';

const time = () => z.iso.datetime().describe('ISO-8601 UTC time');
const jsonValue = () => z.json();

/** Body of POST /admin/recovery/run (absent or empty = `{}`). */
export const recoveryBodySchema = z
  .object({
    force: z.boolean().optional().describe('sweep even when this pod does not lead'),
    dry_run: z.boolean().optional().describe('report what the sweep would do, write nothing'),
  })
  .strict();

/** Body of POST /submit/batch; each item is checked with `submissionSchema`, named by its index. */
export const batchBodySchema = z.object({ steps: z.array(submissionSchema).min(1).max(MAX_BATCH_STEPS) }).strict();

/** Path parameter of the routes about one step. */
export const stepIdParamsSchema = z.object({ step_id: z.string().min(1).max(100).describe('a step id (`step_…`)') });

/** The files of the /docs page, by the name the page asks for (docs.ts serves exactly these). */
export const DOCS_ASSET_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'init.js'] as const;

/** Path parameter of the /docs page's files. */
export const docsAssetParamsSchema = z.object({ file: z.enum(DOCS_ASSET_FILES) });

/** The spellings of a boolean query flag that the original FLEET-Q API takes (any case). */
export const BOOLEAN_WORDS = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 't', 'f', 'y', 'n'] as const;

/** Query of GET /status/:step_id. */
export const statusQuerySchema = z.object({ history: z.enum(BOOLEAN_WORDS).optional().describe('add the audit trail (any case)') });

/** Query of GET /admin/dlq (decimal integers; dlq-page.ts checks them). */
export const dlqQuerySchema = z.object({
  limit: z.int().min(1).max(DLQ_MAX_LIMIT).optional().describe(`page size, default 50`),
  offset: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('steps to skip, default 0'),
});

export const errorBodySchema = z
  .object({
    detail: z.string(),
    error_type: z.enum([
      'validation_error',
      'unauthorized',
      'permission_denied',
      'not_leader',
      'not_found',
      'conflict',
      'payload_too_large',
      'unsupported_media_type',
      'database_error',
      'internal_error',
    ]),
    timestamp: time(),
    path: z.string(),
    errors: z.array(z.object({ loc: z.string(), msg: z.string() }).strict()).optional(),
  })
  .strict();

export const healthBodySchema = z
  .object({
    pod_id: z.string().nullable(),
    status: z.enum(['healthy', 'starting', 'unhealthy', 'draining']),
    uptime_seconds: z.number().min(0),
    current_capacity: z.int().min(0),
    max_capacity: z.int().min(0),
    is_leader: z.boolean(),
    version: z.string(),
  })
  .strict();

export const submitBodySchema = z.object({ step_id: z.string(), status: z.enum(['submitted', 'duplicate']), message: z.string() }).strict();

export const batchResultBodySchema = z.object({ step_ids: z.array(z.string()) }).strict();

const stepStatus = z.enum(['pending', 'claimed', 'completed', 'failed', 'cancelled']);

export const eventBodySchema = z
  .object({
    event_id: z.int(),
    step_id: z.string(),
    ts: time(),
    kind: z.string(),
    pod_id: z.string().nullable(),
    attempt: z.int(),
    detail: z.record(z.string(), jsonValue()),
  })
  .strict();

export const stepBodySchema = z
  .object({
    step_id: z.string(),
    status: stepStatus,
    claimed_by: z.string().nullable(),
    last_update_ts: time(),
    retry_count: z.int(),
    priority: z.int(),
    created_ts: time(),
    max_retries: z.int(),
    payload: z.object({ type: z.string(), args: jsonValue(), metadata: z.record(z.string(), jsonValue()) }).strict(),
    attempt: z.int(),
    last_error: z.string().nullable(),
    result: jsonValue(),
    depends_on: z.array(z.string()).optional().describe('workflow parents; present only for a step that has some'),
    deadline: time().nullable(),
    progress: jsonValue(),
    history: z.array(eventBodySchema).optional(),
  })
  .strict();

/** Body of GET /workflow/:step_id: the graph reachable from the step, each node with its status. */
export const workflowBodySchema = z
  .object({
    step_id: z.string(),
    nodes: z.array(
      z
        .object({
          step_id: z.string(),
          type: z.string(),
          status: stepStatus,
          depends_on: z.array(z.string()),
          waiting_on: z.int().min(0).describe('parents not completed yet; a pending step is claimable only at 0'),
          attempt: z.int(),
          retry_count: z.int(),
          last_error: z.string().nullable(),
          last_update_ts: time(),
        })
        .strict(),
    ),
    edges: z.array(z.object({ step_id: z.string(), parent_step_id: z.string() }).strict()),
    truncated: z.boolean().describe('true when the graph has more nodes than the response holds (1,000)'),
  })
  .strict();

export const idempotencyBodySchema = z.object({ step_id: z.string(), idempotency_key: z.string() }).strict();

export const leaderBodySchema = z
  .object({
    current_leader: z.string().nullable(),
    leader_birth_ts: time().nullable(),
    active_pods: z.int().min(0),
    last_election_check: time(),
    election_details: z
      .object({
        eligible_pods: z.array(z.object({ pod_id: z.string(), birth_ts: time(), last_heartbeat_ts: time(), is_leader: z.boolean() }).strict()),
      })
      .strict(),
  })
  .strict();

export const schedulesBodySchema = z
  .object({
    checked_at: time(),
    schedules: z.array(
      z
        .object({
          name: z.string(),
          type: z.string(),
          cron: z.string(),
          timezone: z.string(),
          missed: z.enum(['skip', 'backfill']),
          backfill: z.int().min(1).nullable(),
          priority: z.int(),
          next_tick: time().nullable(),
          last_enqueued_tick: time().nullable(),
          last_step_id: z.string().nullable(),
          last_step_status: z.enum(['pending', 'claimed', 'completed', 'failed']).nullable(),
        })
        .strict(),
    ),
  })
  .strict();

export const queueBodySchema = z
  .object({
    pending_steps: z.int().min(0),
    claimed_steps: z.int().min(0),
    completed_steps: z.int().min(0),
    failed_steps: z.int().min(0),
    cancelled_steps: z.int().min(0),
    active_pods: z.int().min(0),
    current_leader: z.string().nullable(),
    queue_depth_by_priority: z.record(z.string(), z.int().min(0)),
    steps_by_type: z.record(z.string(), z.int().min(0)),
    pod_capacity: z.record(z.string(), z.object({ current: z.int().min(0), max: z.int().min(0) }).strict()),
    oldest_pending_age_seconds_by_priority: z
      .record(z.string(), z.int().min(0))
      .describe('per priority, seconds the longest-waiting due pending step has waited (database clock)'),
    past_deadline_steps: z.int().min(0).describe('pending steps whose deadline has passed'),
  })
  .strict();

export const recoveryResultBodySchema = z
  .object({
    status: z.enum(['completed', 'dry_run']),
    message: z.string(),
    recovery_summary: z
      .object({
        cycle_id: z.string(),
        dead_pods_found: z.int().min(0),
        orphaned_steps_found: z.int().min(0),
        steps_requeued: z.int().min(0),
        steps_marked_terminal: z.int().min(0),
        duration_ms: z.int().min(0),
        dead_pods: z.array(z.string()),
        requeued_steps: z.array(z.string()),
        terminal_steps: z.array(z.string()),
      })
      .strict(),
  })
  .strict();

export const dlqBodySchema = z
  .object({
    total: z.int().min(0),
    steps: z.array(
      z.object({ step_id: z.string(), type: z.string(), retry_count: z.int(), last_error: z.string().nullable(), last_update_ts: time() }).strict(),
    ),
  })
  .strict();

export const cancelBodySchema = z
  .object({ step_id: z.string(), status: z.literal('cancelled'), previous_status: z.enum(['pending', 'claimed']), message: z.string() })
  .strict();

export const replayBodySchema = z.object({ step_id: z.string(), status: stepStatus }).strict();
