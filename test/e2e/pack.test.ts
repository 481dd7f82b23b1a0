/**
 * The published package, as a user gets it: compile with the package's build settings (declarations
 * included), `npm pack`, install the tarball into a scratch project under .tmp/, and run a user's
 * script there that imports `fleet-q` and `fleet-q/testing` and checks three step types. The correct
 * custom lifecycle passes; one that completes after its abort fails on L3, one that dead-letters
 * before its retries are spent fails on L4, each with a shrunk counterexample and the seed.
 *
 * Time: the scratch project starts from hard links to this repository's node_modules (a native
 * better-sqlite3 build and snowflake-sdk would otherwise be fetched or compiled), so `npm install` of
 * the tarball only resolves what changed (about 4 s); the compile takes ~30 s on the 2-core machine.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from './build.js';

const work = join(ROOT, '.tmp', `pack-test-${process.pid}-${Date.now()}`);

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}\n${stdout}`));
      else resolve(stdout);
    });
  });
}

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('a scratch project installs the npm pack tarball and checks three step types with fleet-q/testing', async () => {
  const stage = join(work, 'stage');
  const scratch = join(work, 'scratch');
  await mkdir(stage, { recursive: true });
  await mkdir(scratch, { recursive: true });
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')], ROOT);
  for (const f of ['package.json', 'README.md']) await copyFile(join(ROOT, f), join(stage, f));
  // dist/ is already built: the tarball is what `npm pack` makes of it.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], stage);
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();

  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await run('cp', ['-al', join(ROOT, 'node_modules'), join(scratch, 'node_modules')], ROOT);
  await run('npm', ['install', join(work, tarball!), 'zod@4.6.7', 'xstate@5.33.3', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], scratch);
  await copyFile(join(ROOT, 'test/fixtures/pack-scratch/check-steps.mjs'), join(scratch, 'check-steps.mjs'));

  const env = { ...process.env, FLEET_Q_TEST_SEED: process.env.FLEET_Q_TEST_SEED ?? '4242' };
  const out = await run(process.execPath, ['check-steps.mjs'], scratch, env);
  const results = out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; passed: boolean; message?: string; counterexample?: string });
  const byType = Object.fromEntries(results.map((r) => [r.type, r]));
  expect(byType['payment.correct']).toMatchObject({ passed: true, unreachable: [] });
  expect(byType['payment.late_completion']).toMatchObject({ passed: false });
  expect(byType['payment.late_completion']!.message).toMatch(/broke rule L3: .*answered completed after its abort[\s\S]*seed: \d+[\s\S]*shrunk counterexample/);
  expect(byType['payment.early_dead_letter']).toMatchObject({ passed: false });
  expect(byType['payment.early_dead_letter']!.message).toMatch(
    /broke rule L4: .*dead-lettered with a retryable error while \d retr[\s\S]*audit trail of the failing run/,
  );
  for (const r of results.filter((x) => !x.passed)) expect(r.counterexample).toMatch(/"op":"submit"/);
}, 300_000);
