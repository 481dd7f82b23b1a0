/**
 * Validates response bodies against the OpenAPI document the app serves (ajv, JSON Schema 2020-12,
 * the dialect of OpenAPI 3.1): the fuzz and the OpenAPI tests check the document, not the zod
 * schemas it came from. Owns validation only.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };

/** Checks `(method, route url, status, body)` against the document; returns the problems (empty = conforms). */
export class OpenApiValidator {
  readonly #ajv: Ajv2020;
  readonly #doc: Doc;

  constructor(doc: unknown) {
    this.#doc = doc as Doc;
    // strict off: OpenAPI keywords (`description` on $ref siblings, `format`s ajv does not know) are fine.
    this.#ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    this.#ajv.addSchema(doc as object, 'doc');
  }

  /** The documented response of `status` (or `default`) for `method` `url` (fastify pattern). */
  responseSpec(method: string, url: string, status: number): { key: string; schema: unknown } | undefined {
    const path = url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const op = this.#doc.paths[path]?.[method.toLowerCase()];
    if (op === undefined) return undefined;
    const key = String(status) in op.responses ? String(status) : 'default';
    const response = op.responses[key];
    if (response === undefined) return undefined;
    return { key, schema: response.content?.['application/json']?.schema };
  }

  problems(method: string, url: string, status: number, body: unknown): string[] {
    const spec = this.responseSpec(method, url, status);
    if (spec === undefined) return [`${method} ${url}: status ${status} is not documented`];
    if (spec.schema === undefined) return [];
    const validate = this.#ajv.compile({
      $ref: `doc#/paths/${pointer(url.replace(/:([A-Za-z_]+)/g, '{$1}'))}/${method.toLowerCase()}/responses/${spec.key}/content/application~1json/schema`,
    });
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${method} ${url} ${status}: ${e.instancePath} ${e.message ?? ''}`);
  }
}

function pointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
