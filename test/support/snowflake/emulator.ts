/**
 * The Snowflake emulator for tests: fakesnow (PyPI, over DuckDB) in a private Python virtual
 * environment under .tmp/, started behind the response adapter of emulator.py on a free port.
 * Owns installing (once per checkout, pinned versions) and starting/stopping the process; knows
 * nothing about stores.
 *
 * The pins are the pair verified to work: without the second, pip takes a snowflake-connector that
 * fakesnow 0.12.1 cannot import.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EMULATOR_PACKAGES = ['fakesnow[server]==0.12.1', 'snowflake-connector-python==3.18.1'] as const;

const HERE = dirname(fileURLToPath(import.meta.url));
/** The checkout: the nearest folder above holding this directory's sources (the benchmark runs a compiled copy elsewhere). */
const ROOT = checkoutRoot(HERE);
const VENV = join(ROOT, '.tmp', 'fakesnow-venv');
const PYTHON = join(VENV, 'bin', 'python');
const STAMP = join(VENV, 'fleet-q-pins.txt');
const SCRIPT = join(ROOT, 'test', 'support', 'snowflake', 'emulator.py');

function checkoutRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'support', 'snowflake', 'emulator.py'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '../../..');
  }
}

/** Creates the virtual environment with the pinned packages unless it is there already; the reason when it cannot. */
export function installEmulator(): string | null {
  const wanted = EMULATOR_PACKAGES.join('\n');
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === wanted && existsSync(PYTHON)) return null;
  const python = process.env['FLEET_Q_TEST_PYTHON'] ?? 'python3';
  const venv = spawnSync(python, ['-m', 'venv', VENV], { encoding: 'utf8' });
  if (venv.error !== undefined || venv.status !== 0)
    return `cannot create a Python venv with ${python}: ${venv.error?.message ?? venv.stderr.trim().split('\n').at(-1)}`;
  const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...EMULATOR_PACKAGES], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (pip.error !== undefined || pip.status !== 0)
    return `pip could not install ${EMULATOR_PACKAGES.join(' ')}: ${pip.error?.message ?? pip.stderr.trim().split('\n').at(-1)}`;
  writeFileSync(STAMP, wanted);
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

/** A running emulator. */
export interface Emulator {
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Installs if needed, then starts the emulator on a free port and waits until it accepts connections. */
export async function startEmulator(): Promise<Emulator> {
  const problem = installEmulator();
  if (problem !== null) throw new Error(problem);
  const port = await freePort();
  const child = spawn(PYTHON, [SCRIPT, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Snowflake emulator did not start: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
