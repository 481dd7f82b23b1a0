/**
 * Turns a producer's submission (the snake_case body of POST /submit, a CLI call or a client call)
 * into store parameters: validates every field, the type and its args schema, the size limit, and
 * resolves max_retries and timeout_ms precedence (submit > defineStep > configuration). Refuses bad
 * input with every problem listed; writes nothing.
 */
import { z } from 'zod';
import { ValidationError, type FleetErrorItem } from '../errors.js';
import type { StepRegistry } from './registry.js';
import { MAX_PAYLOAD_BYTES } from '../store/json.js';
import type { Json, StepSubmitParams } from '../store/store.js';
import { checkDependencies, MAX_PARENTS } from '../store/workflow.js';

/**
 * The fields of POST /submit (DESIGN §5). An optional field sent as `null` counts as not sent, as in
 * the original FLEET-Q API (pydantic `Optional[...] = None`): clients serialise unset fields that way.
 */
export const submissionSchema = z
  .object({
    type: z.string(),
    args: z.json().optional(),
    metadata: z.record(z.string(), z.json()).nullish(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).nullish(),
    max_retries: z.number().int().min(0).max(25).nullish(),
    timeout_ms: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3_600_000)
      .nullish(),
    // U+0000 fits no PostgreSQL text column; refused here so every store answers alike.
    // The pattern reaches /openapi.json, so generated clients and fuzzers know the rule too.
    idempotency_key: z
      .string()
      .min(1)
      .max(255)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000]*$/, { error: 'must not contain U+0000' })
      .nullish(),
    delay_ms: z
      .number()
      .int()
      .min(0)
      .max(365 * 24 * 3_600_000)
      .nullish(),
    // Workflow parents: step ids, or (in POST /submit/batch) earlier items by index.
    depends_on: z
      .array(z.union([z.string().min(1).max(100), z.object({ index: z.number().int().min(0) }).strict()]))
      .max(MAX_PARENTS)
      .nullish()
      .describe('parents that must complete first: step ids, or { "index": i } for an earlier item of the same batch'),
    // An ISO-8601 time with a zone (Z or an offset): within a priority, the earliest deadline is claimed first.
    deadline: z.iso
      .datetime({ offset: true, error: 'deadline must be an ISO-8601 time with a zone, e.g. 2030-01-31T17:00:00Z' })
      // The year as written; a pattern, so /openapi.json states the rule too (fuzzers draw only such times).
      .regex(/^(19[7-9]\d|[2-9]\d{3})-/, { error: 'deadline must lie between 1970 and 9999' })
      .nullish(),
  })
  .strict();

export type Submission = z.input<typeof submissionSchema>;

/** Configuration defaults a submission falls back to. */
export interface SubmissionDefaults {
  readonly defaultMaxRetries: number;
  readonly defaultStepTimeoutMs: number;
}

/**
 * Problems of one submission, each `loc` prefixed with `prefix` (e.g. `steps.3.`), and the store
 * parameters when there are none.
 */
export function checkSubmission(
  registry: StepRegistry,
  defaults: SubmissionDefaults,
  raw: unknown,
  prefix = '',
): { params?: Omit<StepSubmitParams, 'now'>; problems: FleetErrorItem[] } {
  const parsed = submissionSchema.safeParse(raw);
  if (!parsed.success) {
    return { problems: parsed.error.issues.flatMap((i) => issueProblems(i, prefix)) };
  }
  const body = parsed.data;
  const definition = registry.get(body.type);
  if (definition === undefined) {
    return { problems: [{ loc: `${prefix}type`, msg: `unknown step type '${body.type}'; registered: ${registry.types().join(', ')}` }] };
  }
  let args: Json;
  try {
    args = registry.parseArgs(body.type, body.args ?? {});
  } catch (err) {
    const errors = err instanceof ValidationError && err.errors ? err.errors : [{ loc: 'args', msg: String(err) }];
    return { problems: errors.map((e) => ({ loc: prefix + e.loc, msg: e.msg })) };
  }
  const metadata = (body.metadata ?? {}) as { [key: string]: Json };
  const bytes = Buffer.byteLength(JSON.stringify(args), 'utf8') + Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    return { problems: [{ loc: `${prefix}args`, msg: `args + metadata are ${bytes} bytes serialised; the limit is ${MAX_PAYLOAD_BYTES}` }] };
  }
  return {
    problems: [],
    params: {
      type: body.type,
      args,
      metadata,
      priority: body.priority ?? 0,
      maxRetries: body.max_retries ?? definition.maxRetries ?? defaults.defaultMaxRetries,
      timeoutMs: body.timeout_ms ?? definition.timeoutMs ?? defaults.defaultStepTimeoutMs,
      idempotencyKey: body.idempotency_key ?? null,
      delayMs: body.delay_ms ?? 0,
      ...(body.depends_on == null || body.depends_on.length === 0 ? {} : { dependsOn: body.depends_on }),
      deadline: body.deadline === undefined || body.deadline === null ? null : Date.parse(body.deadline),
    },
  };
}

function issueProblems(issue: z.core.$ZodIssue, prefix: string): FleetErrorItem[] {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ loc: prefix + (at ? `${at}.${key}` : key), msg: 'unknown field' }));
  return [{ loc: prefix + (at || 'body'), msg: issue.message }];
}

/** One submission's store parameters; throws `ValidationError` listing every problem. */
export function prepareSubmission(registry: StepRegistry, defaults: SubmissionDefaults, raw: unknown): Omit<StepSubmitParams, 'now'> {
  const { params, problems } = checkSubmission(registry, defaults, raw);
  if (params === undefined) throw new ValidationError(problems[0]?.msg ?? 'invalid submission', problems);
  renamingLocs(
    () => checkDependencies([params], false),
    (loc) => loc.replace(/^dependsOn/, 'depends_on'),
  );
  return params;
}

/** Most steps one batch may carry. */
export const MAX_BATCH_STEPS = 10_000;

/**
 * A batch's store parameters, all or nothing: throws `ValidationError` whose errors name each failing
 * item by index (`steps.<i>.<field>`), including idempotency keys repeated within the batch.
 */
export function prepareBatch(registry: StepRegistry, defaults: SubmissionDefaults, raw: unknown): Omit<StepSubmitParams, 'now'>[] {
  const items = (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(items)) throw new ValidationError('body must be { "steps": [ ... ] }', [{ loc: 'steps', msg: 'must be an array' }]);
  const extra = Object.keys(raw as object).filter((key) => key !== 'steps');
  if (extra.length > 0)
    throw new ValidationError(
      'body must be { "steps": [ ... ] } and nothing else',
      extra.map((loc) => ({ loc, msg: 'unknown field' })),
    );
  if (items.length === 0 || items.length > MAX_BATCH_STEPS) {
    throw new ValidationError(`a batch holds 1 to ${MAX_BATCH_STEPS} steps`, [
      { loc: 'steps', msg: `has ${items.length} items; allowed 1 to ${MAX_BATCH_STEPS}` },
    ]);
  }
  const problems: FleetErrorItem[] = [];
  const out: Omit<StepSubmitParams, 'now'>[] = [];
  const keys = new Map<string, number>();
  items.forEach((item, index) => {
    const checked = checkSubmission(registry, defaults, item, `steps.${index}.`);
    problems.push(...checked.problems);
    if (checked.params === undefined) return;
    out.push(checked.params);
    const key = checked.params.idempotencyKey;
    if (key == null) return;
    const composite = `${checked.params.type}\u0000${key}`;
    const first = keys.get(composite);
    if (first !== undefined) problems.push({ loc: `steps.${index}.idempotency_key`, msg: `repeats the key of steps.${first}` });
    else keys.set(composite, index);
  });
  if (problems.length > 0) throw new ValidationError(`${new Set(problems.map((p) => p.loc.split('.')[1])).size} batch item(s) are invalid`, problems);
  // Self, forward and cyclic references are refused here, naming the items; unknown or dead-lettered
  // parents need the database and are refused by the store, also before anything is written.
  renamingLocs(
    () => checkDependencies(out, true),
    (loc) => loc.replace(/^(\d+)\.dependsOn/, 'steps.$1.depends_on'),
  );
  return out;
}

/** Runs `check`, re-throwing its ValidationError with the store's field names in the producer's spelling. */
function renamingLocs(check: () => unknown, rename: (loc: string) => string): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      err.message,
      (err.errors ?? []).map((e) => ({ loc: rename(e.loc), msg: e.msg })),
    );
  }
}
