/**
 * The import graph of the project's own TypeScript (src/ and machines/), read with the TypeScript
 * compiler's pre-processor: every static import and re-export, dynamic `import()`, and `import type`.
 * Owns reading and resolving specifiers; the rules checked on the graph live in the tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The repository root. */
export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/** One module: its path from the root (e.g. `src/http/app.ts`), its text and what it imports. */
export interface ModuleInfo {
  readonly path: string;
  readonly text: string;
  /** Project files it imports (paths from the root), and bare specifiers (packages, `node:` builtins). */
  readonly files: readonly string[];
  readonly packages: readonly string[];
  /** The project files it imports at run time: `import type` and `export type … from` are erased. */
  readonly runtimeFiles: readonly string[];
}

/** `import type …;` and `export type { … } from …;` statements, which verbatimModuleSyntax erases. */
const TYPE_ONLY = /^\s*(import|export)\s+type\s[^;]*?from\s*['"][^'"]+['"];?/gm;

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `./x.js` from `src/a/b.ts` → `src/a/x.ts` (the project imports .ts files by their .js names). */
function resolveSpecifier(from: string, specifier: string): string {
  return relative(ROOT, resolve(ROOT, dirname(from), specifier)).replace(/\.js$/, '.ts');
}

/** Every module under `dirs`, with its imports. */
export function readModules(dirs: readonly string[] = ['src', 'machines']): ModuleInfo[] {
  return dirs.flatMap(walk).map((path) => {
    const text = readFileSync(join(ROOT, path), 'utf8');
    const specifiers = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
    const runtime = ts.preProcessFile(text.replace(TYPE_ONLY, ''), true, true).importedFiles.map((f) => f.fileName);
    return {
      path,
      text,
      files: specifiers.filter((s) => s.startsWith('.')).map((s) => resolveSpecifier(path, s)),
      packages: specifiers.filter((s) => !s.startsWith('.')),
      runtimeFiles: runtime.filter((s) => s.startsWith('.')).map((s) => resolveSpecifier(path, s)),
    };
  });
}

/**
 * Every cycle of the run-time import graph, each as the sorted paths that form it (Tarjan's
 * strongly connected components). Type-only imports are left out: they are erased, so they cannot
 * change the order in which modules initialise.
 */
export function importCycles(modules: readonly ModuleInfo[]): string[][] {
  const edges = new Map(modules.map((m) => [m.path, m.runtimeFiles]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!edges.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}
