/**
 * GET /openapi.json (openapi.ts's document for this app) and the browsable page GET /docs: Swagger UI
 * from the swagger-ui-dist package, its files served from node_modules under /docs/assets/, so the
 * page works with no network beyond this pod (no CDN, and Swagger UI's online validator is off).
 * Both are open: the document holds the contract, no data. Owns these routes; must not read the store.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../errors.js';
import { buildOpenApiDocument } from './openapi.js';
import type { DOCS_ASSET_FILES } from './schemas.js';
import type { AppDeps } from './app.js';

/** The files the page uses, by the name it asks for: only these are served (no path is ever joined from input). */
const ASSETS: Readonly<Record<Exclude<(typeof DOCS_ASSET_FILES)[number], 'init.js'>, { readonly file: string; readonly type: string }>> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
};

/** Starts Swagger UI on the document; relative URLs, so the page also works behind a path prefix. */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>FLEET-Q API</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;

/** Scripts and styles from this origin only; Swagger UI sets inline styles and shows data: images. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

function assetDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** Registers GET /openapi.json, GET /docs and GET /docs/assets/:file on `app`. */
export function registerDocsRoutes(app: FastifyInstance, deps: AppDeps): void {
  let document: string | undefined;
  const cache = new Map<string, Buffer>();

  app.get('/openapi.json', async (_request, reply) => {
    document ??= JSON.stringify(buildOpenApiDocument(deps.registry, { authEnabled: deps.auth?.enabled ?? false, metricsPublic: deps.metricsPublic ?? false }));
    return reply.type('application/json; charset=utf-8').send(document);
  });

  app.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(PAGE));

  app.get<{ Params: { file: string } }>('/docs/assets/:file', async (request, reply) => {
    const name = request.params.file;
    if (name === 'init.js') return reply.type('text/javascript; charset=utf-8').send(INIT_SCRIPT);
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name as keyof typeof ASSETS] : undefined;
    if (asset === undefined) throw new NotFoundError(`no file ${name} in the docs page`);
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = await readFile(join(assetDir(), asset.file));
      cache.set(name, bytes);
    }
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(bytes);
  });
}
