/**
 * The dashboard's static files (index.html, app.js, app.css): found once, read once, served from
 * memory with an ETag, so a page load costs no disk read and no request leaves the cluster. The
 * files ship in the package (`npm run build` copies them beside this module); running from source,
 * or from a build that did not copy them, they are found in `src/http/ui/public` of an enclosing
 * folder. Owns file lookup and caching only; must not build pages or read a store.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UiAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The folder holding index.html: beside this module when built, else `src/http/ui/public` above it. */
export function uiAssetDir(moduleDir = dirname(fileURLToPath(import.meta.url))): string {
  const beside = join(moduleDir, 'public');
  if (existsSync(join(beside, 'index.html'))) return beside;
  for (let dir = moduleDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'src', 'http', 'ui', 'public');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`dashboard assets not found beside ${moduleDir} or in any enclosing src/http/ui/public`);
  }
}

/** Every asset of `dir` by file name. */
export function loadUiAssets(dir = uiAssetDir()): ReadonlyMap<string, UiAsset> {
  const assets = new Map<string, UiAsset>();
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}
