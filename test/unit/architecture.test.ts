/**
 * DESIGN §6 import rules, checked on the source: machines import only xstate (and each other); SQL
 * lives only in store drivers; src/http/ never imports a driver; a store driver imports only its
 * client library, Node's builtins, its own folder and the shared store layer; no import cycles at
 * run time (type-only imports are erased, so src/http/'s routes may name app.ts's AppDeps).
 * ESLint's no-restricted-imports (eslint.config.js) reports the import rules in the editor too.
 */
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importCycles, readModules, type ModuleInfo } from '../support/module-graph.js';

const modules = readModules();
const DRIVER_DIR = /^src\/store\/([a-z0-9]+)\//;
/** Each driver folder and the one client library it may import. */
const CLIENT_LIBRARIES: Readonly<Record<string, readonly string[]>> = {
  sqlite: ['better-sqlite3'],
  postgres: ['pg'],
  snowflake: ['snowflake-sdk'],
  mysql: ['mysql2', 'mysql2/promise'],
};
/** Project files outside src/store/ every driver may use: the error classes and id generation. */
const DRIVER_SHARED = ['src/errors.ts', 'src/ids.ts'];

const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);
const violations = (check: (m: ModuleInfo) => string[]) => modules.flatMap((m) => check(m).map((problem) => `${m.path}: ${problem}`));

/**
 * SQL in a string or template: a statement's opening words. Comments are stripped first, so prose
 * that mentions SQL is fine.
 */
const SQL =
  /\b(SELECT\s[\s\S]{0,200}?\sFROM\s|INSERT\s+INTO\s|UPDATE\s+[\w."${}]+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|SCHEMA)\s|ALTER\s+TABLE\s|DROP\s+(TABLE|INDEX|SCHEMA)\s|PRAGMA\s+\w)/;

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('architecture (DESIGN §6)', () => {
  it("reads the whole tree, and its SQL pattern finds the drivers' SQL", () => {
    expect(modules.filter((m) => m.path.startsWith('machines/')).length).toBeGreaterThan(5);
    expect(modules.filter((m) => DRIVER_DIR.test(m.path)).length).toBeGreaterThan(10);
    for (const queries of ['src/store/sqlite/queries.ts', 'src/store/postgres/queries.ts', 'src/store/postgres/migrations.ts']) {
      expect(SQL.test(stripComments(modules.find((m) => m.path === queries)!.text)), queries).toBe(true);
    }
  });

  it('machines import only xstate and each other', () => {
    const found = violations((m) =>
      m.path.startsWith('machines/')
        ? [...m.packages.filter((p) => p !== 'xstate'), ...m.files.filter((f) => !f.startsWith('machines/'))].map((i) => `imports ${i}`)
        : [],
    );
    expect(found).toEqual([]);
  });

  it('SQL lives only in store drivers', () => {
    const found = violations((m) => {
      if (DRIVER_DIR.test(m.path)) return [];
      const match = SQL.exec(stripComments(m.text));
      return match === null ? [] : [`holds SQL: ${match[0].replace(/\s+/g, ' ').slice(0, 60)}`];
    });
    expect(found).toEqual([]);
  });

  it('src/http/ never imports a driver or a database client', () => {
    const clients = Object.values(CLIENT_LIBRARIES).flat();
    const found = violations((m) =>
      m.path.startsWith('src/http/')
        ? [...m.files.filter((f) => DRIVER_DIR.test(f) || f === 'src/store/open.ts'), ...m.packages.filter((p) => clients.includes(p))].map(
            (i) => `imports ${i}`,
          )
        : [],
    );
    expect(found).toEqual([]);
  });

  it('a store driver imports only its client library, builtins, its own folder and the shared store layer', () => {
    const found = violations((m) => {
      const driver = DRIVER_DIR.exec(m.path)?.[1];
      if (driver === undefined) return [];
      const ownDir = `src/store/${driver}/`;
      const sharedStore = (f: string) => /^src\/store\/[^/]+\.ts$/.test(f) && f !== 'src/store/open.ts';
      const badFiles = m.files.filter((f) => !f.startsWith(ownDir) && !sharedStore(f) && !DRIVER_SHARED.includes(f));
      const badPackages = m.packages.filter((p) => !isBuiltin(p) && !(CLIENT_LIBRARIES[driver] ?? []).includes(p));
      return [...badFiles, ...badPackages].map((i) => `imports ${i}`);
    });
    expect(found).toEqual([]);
  });

  it('only open.ts, of the shared store layer, reaches a driver', () => {
    const found = violations((m) =>
      /^src\/store\/[^/]+\.ts$/.test(m.path) && m.path !== 'src/store/open.ts' ? m.files.filter((f) => DRIVER_DIR.test(f)).map((i) => `imports ${i}`) : [],
    );
    expect(found).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(importCycles(modules)).toEqual([]);
  });
});
