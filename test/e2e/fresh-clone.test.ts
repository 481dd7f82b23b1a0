/**
 * The README's `npm test` on a fresh clone in a directory only its owner can enter (a 0700
 * `mktemp -d`, or `/root`), without FLEET_Q_TEST_DATABASE_URL: the run starts its own embedded
 * PostgreSQL. As root (CI) that server runs as the `postgres` user, who cannot traverse the 0700
 * directory; this once crashed the run with `spawn …/initdb EACCES`. The test clones this repository
 * into such a directory (uncommitted changes copied over, so it checks the working tree), hard-links
 * node_modules (its ancestor is the 0700 directory, as after `npm install` there), and runs vitest on
 * one fixture under the same global setup as `npm test`. Run as another user it still passes, but
 * then proves only that a private checkout works for its owner.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { stageEmbeddedPostgres } from '../support/postgres-as-root.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

function git(args: readonly string[], cwd: string): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

/** A clone of this repository in a fresh 0700 directory, with the working tree's uncommitted files. */
async function privateClone(): Promise<string> {
  const privateDir = await mkdtemp(join(tmpdir(), 'fleet-q-private-'));
  scratch.push(privateDir);
  await chmod(privateDir, 0o700);
  const clone = join(privateDir, 'fleet-q');
  git(['clone', '--quiet', ROOT, clone], ROOT);
  const changed = git(['ls-files', '-z', '--modified', '--others', '--exclude-standard'], ROOT).split('\0').filter(Boolean);
  for (const file of changed) {
    const exists = await stat(join(ROOT, file)).then(
      () => true,
      () => false,
    );
    if (!exists) continue; // deleted in the working tree
    await mkdir(dirname(join(clone, file)), { recursive: true });
    await cp(join(ROOT, file), join(clone, file));
  }
  // Hard links are instant; a copy only when the temp dir is on another file system.
  const linked = spawnSync('cp', ['-al', join(ROOT, 'node_modules'), join(clone, 'node_modules')]);
  if (linked.status !== 0) await cp(join(ROOT, 'node_modules'), join(clone, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  return clone;
}

it('npm test in a clone only its owner can enter starts the embedded PostgreSQL and passes', async () => {
  const clone = await privateClone();
  expect((await stat(dirname(clone))).mode & 0o777).toBe(0o700);
  // A temp dir of its own, so what the run leaves behind can be checked exactly.
  const runTmp = await mkdtemp(join(tmpdir(), 'fleet-q-clone-tmp-'));
  scratch.push(runTmp);
  await chmod(runTmp, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: runTmp, FLEET_Q_REQUIRE_STORES: 'postgres' };
  for (const name of ['FLEET_Q_TEST_DATABASE_URL', 'VITEST', 'VITEST_WORKER_ID', 'VITEST_POOL_ID']) delete env[name];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/fresh-clone/vitest.config.ts'], {
      cwd: clone,
      env,
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, output: text }));
  });
  const plain = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  expect(plain, plain.slice(-3_000)).toContain('1 passed');
  expect(code, plain.slice(-3_000)).toBe(0);
  // The server's data and, for root, the staged binaries are gone with the run.
  expect((await readdir(runTmp)).filter((name) => name.startsWith('fleet-q-'))).toEqual([]);
}, 180_000);

it('refuses with one sentence saying what to do when the temp dir is closed to other users', async () => {
  const closed = await mkdtemp(join(tmpdir(), 'fleet-q-closed-tmp-'));
  scratch.push(closed);
  await chmod(closed, 0o700);
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = closed;
  try {
    await expect(stageEmbeddedPostgres('test')).rejects.toThrow(
      /cannot enter the temp dir .*set TMPDIR to a directory every user can enter .*or set FLEET_Q_TEST_DATABASE_URL/,
    );
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
  expect(await readdir(closed)).toEqual([]);
});
