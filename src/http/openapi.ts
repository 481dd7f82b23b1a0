/**
 * Generates the OpenAPI 3.1 document of GET /openapi.json from the route table (routes.ts) and the
 * zod schemas the routes validate with (zod 4's own `z.toJSONSchema`, so there is no second
 * description to drift). A submission is typed per registered step type: `type` is one of the
 * registry's names and `args` that type's own `defineStep` schema. Pure: reads no environment, serves
 * nothing; docs.ts serves the result.
 */
import { z } from 'zod';
import type { StepRegistry } from '../steps/registry.js';
import { MAX_BATCH_STEPS, submissionSchema } from '../steps/submission.js';
import { FLEET_Q_VERSION } from '../version.js';
import { ROUTES, type RouteSpec } from './routes.js';
import * as wire from './schemas.js';

/** Component names of the wire schemas, as client generators will name their types. */
const NAMES = new Map<z.ZodType, string>([
  [wire.errorBodySchema, 'Error'],
  [wire.healthBodySchema, 'Health'],
  [wire.submitBodySchema, 'SubmitResult'],
  [wire.batchResultBodySchema, 'BatchResult'],
  [wire.stepBodySchema, 'Step'],
  [wire.idempotencyBodySchema, 'Idempotency'],
  [wire.leaderBodySchema, 'Leader'],
  [wire.queueBodySchema, 'Queue'],
  [wire.recoveryBodySchema, 'RecoveryRequest'],
  [wire.recoveryResultBodySchema, 'RecoveryResult'],
  [wire.dlqBodySchema, 'DeadLetterPage'],
  [wire.replayBodySchema, 'ReplayResult'],
]);

type JsonSchema = Record<string, unknown>;

/** What the document says about authentication (it follows the running configuration). */
export interface OpenApiOptions {
  /** False when the API checks no token: operations then list no security requirement. */
  readonly authEnabled: boolean;
  readonly metricsPublic: boolean;
}

/** A submission typed by `registry`: one variant per step type, `args` that type's schema. */
export function submissionSchemaFor(registry: StepRegistry): z.ZodType {
  const variants = registry.types().map((type) => {
    const args = describable(registry.get(type)!.args);
    // checkSubmission reads absent or null args as {}: they may be left out (or null) exactly when {} passes.
    const optional = args.safeParse({}).success;
    return submissionSchema.extend({ type: z.literal(type), args: optional ? args.nullish() : args });
  });
  if (variants.length === 1) return variants[0]!;
  return z.discriminatedUnion('type', variants as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]]);
}

/**
 * A user's args schema as the document can show it; one zod cannot put into JSON Schema (a custom
 * check, a cycle it refuses) is shown as any JSON value rather than failing /openapi.json.
 */
function describable(args: z.ZodType): z.ZodType {
  try {
    z.toJSONSchema(args, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
    return args;
  } catch {
    return z.json();
  }
}

/** The document for an app over `registry`. */
export function buildOpenApiDocument(registry: StepRegistry, options: OpenApiOptions): Record<string, unknown> {
  const components = new Components();
  const submission = submissionSchemaFor(registry);
  const bodies: Record<string, z.ZodType> = {
    '/submit': submission,
    '/submit/batch': wire.batchBodySchema.extend({ steps: z.array(submission).min(1).max(MAX_BATCH_STEPS) }),
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, bodies[route.url], components, options);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'FLEET-Q',
      version: FLEET_Q_VERSION,
      description:
        'A brokerless distributed task queue. Errors share one body (`Error`). With API tokens configured, send ' +
        '`Authorization: Bearer <token>`; scopes: read ⊂ submit ⊂ admin.',
    },
    tags: [{ name: 'steps' }, { name: 'admin' }, { name: 'operations' }],
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token of FLEET_Q_API_TOKENS_READ, _SUBMIT or _ADMIN' } },
    },
  };
}

function operation(route: RouteSpec, body: z.ZodType | undefined, components: Components, options: OpenApiOptions): Record<string, unknown> {
  const access = route.access === 'metrics' ? (options.metricsPublic ? 'open' : 'read') : route.access;
  const guarded = access !== 'open' && options.authEnabled;
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const types = typeof spec.mediaType === 'string' ? [spec.mediaType] : (spec.mediaType ?? ['application/octet-stream']);
    const content =
      spec.schema !== undefined
        ? { 'application/json': { schema: components.ref(spec.schema, 'output') } }
        : Object.fromEntries(types.map((t) => [t, { schema: t === 'application/json' ? { type: 'object' } : { type: 'string' } }]));
    responses[status] = { description: spec.description, content };
  }
  const error = (description: string) => ({ description, content: { 'application/json': { schema: components.ref(wire.errorBodySchema, 'output') } } });
  if (guarded) {
    responses['401'] = error('no valid bearer token');
    responses['403'] = error(`the token lacks the ${access} scope`);
  }
  responses['default'] = error('an error, in the one error shape of the API');

  const requestBody = route.body === undefined ? undefined : route.body === 'submission' ? body! : (body ?? route.body);
  return {
    tags: [route.tag],
    summary: route.summary,
    operationId: operationId(route),
    ...(access === 'open' ? {} : { description: `Needs a token with the ${access} scope when tokens are configured.` }),
    security: guarded ? [{ bearer: [] }] : [],
    parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
    ...(requestBody === undefined
      ? {}
      : {
          requestBody: {
            required: route.url !== '/admin/recovery/run',
            content: {
              'application/json': {
                schema:
                  route.body === 'submission' || route.url === '/submit/batch'
                    ? components.ref(requestBody, 'input', route.url === '/submit' ? 'Submission' : 'Batch', forbidNul)
                    : components.ref(requestBody, 'input'),
              },
            },
          },
        }),
    responses,
  };
}

/** `getStatusStepId` style ids, stable for client generators. */
function operationId(route: RouteSpec): string {
  const words = `${route.method.toLowerCase()} ${route.url}`.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const json = toJsonSchema(field as z.ZodType, 'input');
    const description = typeof json['description'] === 'string' ? json['description'] : undefined;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema: json,
    };
  });
}

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete json['$schema'];
  return json;
}

/** No string or key holding U+0000 (the JSON escape), as an ECMA-262 and Python regex. */
const NO_NUL = '^[^\\u0000]*$';

/**
 * Adds the store's own rule on args and metadata (store/submission-checks.ts: no U+0000 anywhere,
 * since PostgreSQL's jsonb cannot hold it) to a submission's schema: a pattern on every string and on
 * the keys of every map. Objects with named fields keep their keys: unknown ones are stripped anyway.
 */
function forbidNul(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (Array.isArray(value)) out[key] = value.map((v: unknown) => (v !== null && typeof v === 'object' ? forbidNul(v as JsonSchema) : v));
    else if (value !== null && typeof value === 'object') out[key] = forbidNul(value as JsonSchema);
    else out[key] = value;
  }
  if (out['type'] === 'string') {
    if (typeof out['pattern'] === 'string') return { allOf: [out, { pattern: NO_NUL }] };
    out['pattern'] = NO_NUL;
  }
  if (out['additionalProperties'] !== undefined && typeof out['additionalProperties'] === 'object') out['propertyNames'] = { type: 'string', pattern: NO_NUL };
  return out;
}

/**
 * Named schemas of `components.schemas`. zod puts shared and recursive parts (JSON values) under
 * `$defs` with `#/$defs/…` references, which would not resolve inside the document; each schema's
 * definitions move into components under its own name, and their references with them.
 */
class Components {
  readonly schemas: Record<string, JsonSchema> = {};
  readonly #names = new Map<z.ZodType, string>();

  ref(schema: z.ZodType, io: 'input' | 'output', name?: string, transform: (json: JsonSchema) => JsonSchema = (j) => j): { $ref: string } {
    let id = this.#names.get(schema);
    if (id === undefined) {
      id = name ?? NAMES.get(schema) ?? `Schema${this.#names.size + 1}`;
      this.#names.set(schema, id);
      const json = transform(toJsonSchema(schema, io));
      const defs = (json['$defs'] ?? {}) as Record<string, JsonSchema>;
      delete json['$defs'];
      const rename = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(rename);
        if (value === null || typeof value !== 'object') return value;
        return Object.fromEntries(
          Object.entries(value).map(([k, v]) => [
            k,
            k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? `#/components/schemas/${id}_${v.slice(8)}` : rename(v),
          ]),
        );
      };
      for (const [defName, def] of Object.entries(defs)) this.schemas[`${id}_${defName}`] = rename(def) as JsonSchema;
      this.schemas[id] = rename(json) as JsonSchema;
    }
    return { $ref: `#/components/schemas/${id}` };
  }
}
