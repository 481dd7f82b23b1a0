/**
 * Producer routes (DESIGN §5): POST /submit, POST /submit/batch, GET /status/:step_id,
 * GET /workflow/:step_id, POST /steps/:step_id/cancel and GET /idempotency/:step_id. Validation is `prepareSubmission`/`prepareBatch`, done completely before
 * the store is called, so a refused submit writes nothing. Must not shape errors (errors.ts does) or
 * format bodies by hand (views.ts does).
 */
import type { FastifyInstance } from 'fastify';
import { NotFoundError, ValidationError } from '../errors.js';
import { prepareBatch, prepareSubmission } from '../steps/submission.js';
import { batchView, cancelView, idempotencyView, stepView, submitView, workflowView } from './views.js';
import type { AppDeps } from './app.js';

/** The one route that accepts large bodies: 10,000 steps of a few hundred bytes each. */
export const BATCH_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** Registers the producer routes on `app`. */
export function registerStepRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { store, registry, defaults } = deps;

  app.post('/submit', async (request, reply) => {
    const params = prepareSubmission(registry, defaults, request.body);
    const result = await store.stepSubmit(params);
    return reply.code(result.outcome === 'submitted' ? 201 : 200).send(submitView(result));
  });

  app.post('/submit/batch', { bodyLimit: BATCH_BODY_LIMIT_BYTES }, async (request, reply) => {
    const steps = prepareBatch(registry, defaults, request.body);
    const { results } = await store.stepSubmitBatch({ steps });
    return reply.code(201).send(batchView(results));
  });

  app.get<{ Params: { step_id: string }; Querystring: { history?: string } }>('/status/:step_id', async (request) => {
    const history = historyFlag(request.query.history);
    const step = await store.stepGet({ stepId: request.params.step_id });
    if (step === null) throw new NotFoundError(`Step ${request.params.step_id} not found`);
    if (!history) return stepView(step);
    return stepView(step, await store.eventList({ stepId: step.stepId }));
  });

  app.get<{ Params: { step_id: string } }>('/workflow/:step_id', async (request) => {
    const graph = await store.workflowGraph({ stepId: request.params.step_id });
    if (graph === null) throw new NotFoundError(`Step ${request.params.step_id} not found`);
    return workflowView(request.params.step_id, graph);
  });

  // 404 unknown, 409 already terminal (the store's NotFoundError and ConflictError).
  app.post<{ Params: { step_id: string } }>('/steps/:step_id/cancel', async (request) => {
    return cancelView(await store.stepCancel({ stepId: request.params.step_id }));
  });

  app.get<{ Params: { step_id: string } }>('/idempotency/:step_id', async (request) => {
    const step = await store.stepGet({ stepId: request.params.step_id });
    if (step === null) throw new NotFoundError(`Step ${request.params.step_id} not found`);
    return idempotencyView(step);
  });
}

/**
 * The spellings of a boolean query parameter that the original FLEET-Q API (FastAPI, pydantic) takes,
 * any case: a Python client sends `params={"history": True}` as `history=True`.
 */
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', 'f', 'n']);

function historyFlag(raw: unknown): boolean {
  if (raw === undefined) return false;
  const word = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ValidationError("history must be 'true' or 'false'", [{ loc: 'history', msg: "must be 'true' or 'false'" }]);
}
