/**
 * `createClient`: the producer and operator library API (DESIGN §5). It opens the configured store
 * directly (no pod, no HTTP) and answers with exactly the bodies of the matching HTTP routes, built by
 * views.ts. Submissions are validated against the same step types the API uses (built-ins plus
 * FLEET_Q_HANDLERS) by the same code (steps/submission.ts), so a step the API would refuse is refused here too.
 * Must not run handlers, claim steps or hold timers: a client is safe to open in any process.
 */
import { resolveConfig, type FleetConfig, type FleetConfigInput } from './config/config.js';
import { dlqPage } from './http/dlq-page.js';
import { FleetError, NotFoundError } from './errors.js';
import { StepRegistry, stepsDefinedInProcess, type AnyStepDefinition } from './steps/registry.js';
import { loadHandlerModule, withBuiltinSteps } from './steps/load.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { prepareBatch, prepareSubmission, type Submission, type SubmissionDefaults } from './steps/submission.js';
import {
  batchView,
  dlqView,
  queueView,
  replayView,
  cancelView,
  stepView,
  submitView,
  workflowView,
  type BatchView,
  type DlqView,
  type QueueView,
  type ReplayView,
  type CancelView,
  type StepView,
  type SubmitView,
  type WorkflowView,
} from './http/views.js';

/** A producer's and operator's handle on the queue. Errors are `FleetError`s (see each method). */
export interface FleetClient {
  /**
   * Submits one step (the fields of POST /submit). Resolves `status: "duplicate"` with the existing id
   * when the idempotency key was used with identical args. Throws `ValidationError` (nothing written)
   * or `ConflictError` (same key, different args).
   */
  submit(submission: Submission): Promise<SubmitView>;
  /**
   * Submits up to 10,000 steps, all or none; ids in order. Items may name workflow parents in
   * `depends_on`: step ids, or `{ index }` of an earlier item. Throws `ValidationError` naming failing
   * indexes (cycles, self and forward references, unknown parents) or `ConflictError` (a parent is
   * dead-lettered), writing nothing.
   */
  submitBatch(submissions: readonly Submission[]): Promise<BatchView>;
  /** The workflow graph reachable from a step, as GET /workflow/:step_id shows it. Throws `NotFoundError`. */
  workflow(stepId: string): Promise<WorkflowView>;
  /** The step as GET /status/:step_id shows it; `history` adds its audit events. Throws `NotFoundError`. */
  status(stepId: string, options?: { readonly history?: boolean }): Promise<StepView>;
  /** Counts as GET /admin/queue shows them. */
  queue(): Promise<QueueView>;
  /** Dead-lettered steps, newest first; limit 1–500 (default 50), offset ≥ 0. */
  dlq(page?: { readonly limit?: number; readonly offset?: number }): Promise<DlqView>;
  /** Replays a dead-lettered step. Throws `NotFoundError`, or `ConflictError` when it is not in the DLQ. */
  replay(stepId: string): Promise<ReplayView>;
  /**
   * Cancels a pending or running step, as POST /steps/:step_id/cancel: status `cancelled` (terminal;
   * a running handler's `ctx.signal` aborts and its later writes are refused). Throws `NotFoundError`,
   * or `ConflictError` when the step is already completed, failed or cancelled.
   */
  cancel(stepId: string): Promise<CancelView>;
  /** Closes the store connection. Idempotent; later calls fail. */
  close(): Promise<void>;
}

/** What `createClient` takes: the same `{ config, steps }` shape as `createPod`, so code moves between producer and worker. */
export interface ClientOptions {
  /** A loaded configuration, used as is, or overrides (camelCase keys) on top of the `FLEET_Q_*` environment. */
  readonly config?: Partial<FleetConfigInput> | FleetConfig;
  /** More step types to accept (their args schemas are checked at submit). */
  readonly steps?: readonly AnyStepDefinition[];
}

/** `{ config?, steps? }` rather than a bare configuration (which has neither key). */
function isClientOptions(value: object): value is ClientOptions {
  return Object.keys(value).every((k) => k === 'config' || k === 'steps');
}

/**
 * Opens a client: `createClient({ config, steps })`, the options of `createPod`. `config` is a loaded
 * `FleetConfig`, used as is, or overrides (camelCase keys) applied on top of the `FLEET_Q_*`
 * environment. Submissions are checked against the built-ins, the FLEET_Q_HANDLERS module, `steps`,
 * and every type `defineStep` declared in this process; any other type is refused. Throws
 * `ConfigError` listing every problem (a bad handlers module included) before any connection is opened.
 */
export async function createClient(options?: ClientOptions): Promise<FleetClient>;
/** @deprecated The earlier form: `createClient(config, { steps })`; use `createClient({ config, steps })`. */
export async function createClient(config: Partial<FleetConfigInput> | FleetConfig, options?: Pick<ClientOptions, 'steps'>): Promise<FleetClient>;
export async function createClient(
  first: ClientOptions | Partial<FleetConfigInput> | FleetConfig = {},
  legacy: Pick<ClientOptions, 'steps'> = {},
): Promise<FleetClient> {
  const options: ClientOptions = isClientOptions(first) ? first : { config: first, ...legacy };
  const resolved = resolveConfig(options.config ?? {});
  const extra = resolved.handlers === undefined ? [] : await loadHandlerModule(resolved.handlers);
  const named = withBuiltinSteps([...extra, ...(options.steps ?? [])]);
  const namedTypes = new Set(named.map((d) => d.type));
  const registry = new StepRegistry([...named, ...stepsDefinedInProcess().filter((d) => !namedTypes.has(d.type))]);
  const defaults: SubmissionDefaults = { defaultMaxRetries: resolved.defaultMaxRetries, defaultStepTimeoutMs: resolved.defaultStepTimeoutMs };
  const store = await openStore(resolved);
  return clientOver(store, registry, defaults);
}

/** A client over an open store; `close()` closes that store. */
export function clientOver(store: Store, registry: StepRegistry, defaults: SubmissionDefaults): FleetClient {
  let closed = false;
  const open = (): Store => {
    if (closed) throw new FleetError('internal_error', 'this FLEET-Q client is closed');
    return store;
  };
  return {
    async submit(submission) {
      const params = prepareSubmission(registry, defaults, submission);
      return submitView(await open().stepSubmit(params));
    },
    async submitBatch(submissions) {
      const steps = prepareBatch(registry, defaults, { steps: submissions });
      return batchView((await open().stepSubmitBatch({ steps })).results);
    },
    async status(stepId, options = {}) {
      const s = open();
      const step = await s.stepGet({ stepId });
      if (step === null) throw new NotFoundError(`Step ${stepId} not found`);
      return options.history === true ? stepView(step, await s.eventList({ stepId })) : stepView(step);
    },
    async workflow(stepId) {
      const graph = await open().workflowGraph({ stepId });
      if (graph === null) throw new NotFoundError(`Step ${stepId} not found`);
      return workflowView(stepId, graph);
    },
    async queue() {
      const s = open();
      const [stats, age] = await Promise.all([s.queueStats(), s.queueAge()]);
      return queueView(stats, age);
    },
    async dlq(page = {}) {
      return dlqView(await open().dlqList(dlqPage(page)));
    },
    async replay(stepId) {
      return replayView(await open().stepReplay({ stepId }));
    },
    async cancel(stepId) {
      return cancelView(await open().stepCancel({ stepId }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
    },
  };
}
