/**
 * The FLEET-Q version, read once from the package's own package.json (the one named `fleet-q` found
 * walking up from this module, so it works from src/ under vitest and from dist/src/ when built).
 * Owns nothing else.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'fleet-q' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or unreadable): keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}

/** This build's version, e.g. `0.1.0` (reported by /health and recorded in pod meta). */
export const FLEET_Q_VERSION: string = readVersion();
