/**
 * The built `fleet-q` executable the end-to-end suite runs: src/ and machines/ compiled with the
 * package's build settings into `.tmp/e2e-build-<hash of the sources>/`, once per source state and
 * shared by every e2e file (the first to arrive builds under a lock, the others wait for it). A
 * private directory, not dist/, so a test run never races `npm run build` or another engineer's build.
 * Owns building only: it starts no pod and asserts nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireDirLock } from './dir-lock.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SOURCE_DIRS = ['src', 'machines'];
const SOURCE_FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** A cold build took 27 s on the 2-core machine while other suites ran; waiting 4× that is generous. */
const BUILD_WAIT_MS = 120_000;
/** Builds of older source states are removed once this old (a running suite uses its own for minutes). */
const STALE_BUILD_MS = 3_600_000;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|js|css|html)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** Changes with any source byte, so an edited pod is rebuilt and an unchanged one is reused. */
async function sourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = [...SOURCE_FILES, ...(await Promise.all(SOURCE_DIRS.map(sourceFiles))).flat()];
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(ROOT, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

function runTsc(project: string): Promise<{ code: number; output: string }> {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

async function removeStaleBuilds(keep: string): Promise<void> {
  const tmp = join(ROOT, '.tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith('e2e-build-') || name === keep || name.endsWith('.lock')) continue;
    const info = await stat(join(tmp, name)).catch(() => null);
    if (info !== null && Date.now() - info.mtimeMs > STALE_BUILD_MS) await rm(join(tmp, name), { recursive: true, force: true });
  }
}

/**
 * The path of the built `cli.js` for the current sources, building it first if needed. A type error
 * elsewhere in src/ does not stop the build (tsc still emits); a missing `cli.js` or `pod/start.js` does.
 */
export async function builtCli(): Promise<string> {
  const name = `e2e-build-${await sourceHash()}`;
  const dir = join(ROOT, '.tmp', name);
  const cli = join(dir, 'out/src/cli.js');
  const done = join(dir, 'built');
  if (existsSync(done)) return cli;
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  const lock = await acquireDirLock(`${dir}.lock`, BUILD_WAIT_MS);
  try {
    if (existsSync(done)) return cli;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.build.json',
        compilerOptions: { outDir: './out', rootDir: '../..', declaration: false, sourceMap: false, incremental: false },
        include: SOURCE_DIRS.map((d) => `../../${d}/**/*.ts`),
      }),
    );
    const build = await runTsc(join(dir, 'tsconfig.json'));
    // As `npm run build` does: the dashboard's static files ship beside its compiled module.
    await cp(join(ROOT, 'src/http/ui/public'), join(dir, 'out/src/http/ui/public'), { recursive: true });
    const missing = [cli, join(dir, 'out/src/pod/start.js')].filter((file) => !existsSync(file));
    if (missing.length > 0) throw new Error(`building fleet-q failed (missing ${missing.join(', ')}):\n${build.output}`);
    if (build.code !== 0) console.warn(`fleet-q built with type errors (tsc exit ${build.code}):\n${build.output.slice(0, 4000)}`);
    await writeFile(done, new Date().toISOString());
    await removeStaleBuilds(name);
    return cli;
  } finally {
    await lock.release();
  }
}
