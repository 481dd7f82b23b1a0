/**
 * createLogger: JSON and console records on a collecting destination, level filtering, and — in a
 * child process running the real module — that the default destination is stderr, never stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { createLogger, formatConsoleLine } from '../../src/log.js';
import type { LogFormat, LogLevel } from '../../src/config/config.js';

function collector() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

function loggerFor(logLevel: LogLevel, logFormat: LogFormat, bindings?: Record<string, unknown>) {
  const { lines, destination } = collector();
  return { lines, log: createLogger({ logLevel, logFormat }, bindings, destination) };
}

describe('json format', () => {
  it('writes one JSON object per line with level name, msg, time and bindings', () => {
    const { lines, log } = loggerFor('info', 'json', { pod_id: 'pod-a-1234abcd' });
    log.info({ step_id: 'step_1' }, 'claimed');
    log.warn('slow heartbeat');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 'info', msg: 'claimed', pod_id: 'pod-a-1234abcd', step_id: 'step_1' });
    expect(second).toMatchObject({ level: 'warn', msg: 'slow heartbeat' });
    expect(new Date(String(first?.['time'])).toISOString()).toBe(first?.['time']);
  });

  it('drops records below the configured level', () => {
    const { lines, log } = loggerFor('warn', 'json');
    log.info('hidden');
    log.debug('hidden');
    log.error('shown');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });

  it('silent writes nothing', () => {
    const { lines, log } = loggerFor('silent', 'json');
    log.fatal('nothing');
    expect(lines).toEqual([]);
  });

  it('children keep the bindings and add their own', () => {
    const { lines, log } = loggerFor('debug', 'json', { pod_id: 'p' });
    log.child({ step_id: 's' }).debug('run');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'debug', pod_id: 'p', step_id: 's', msg: 'run' });
  });
});

describe('console format', () => {
  it('writes one readable line: time, level, message, fields', () => {
    const { lines, log } = loggerFor('info', 'console', { pod_id: 'pod-a' });
    log.info({ step_id: 'step_1', attempt: 2, note: 'two words', detail: { a: 1 } }, 'claimed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}claimed pod_id=pod-a step_id=step_1 attempt=2 note="two words" detail=\{"a":1\}\n$/,
    );
  });

  it('keeps errors and multi-line messages on one line', () => {
    const { lines, log } = loggerFor('info', 'console');
    log.error({ err: new TypeError('boom') }, 'handler failed\nsecond line');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.indexOf('\n')).toBe(lines[0]!.length - 1);
    expect(lines[0]).toContain('ERROR handler failed\\nsecond line err="TypeError: boom (at ');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatConsoleLine('plain text')).toBe('plain text\n');
  });
});

describe('default destination', () => {
  /** Runs the real log.ts (transpiled) in a child process and returns what it wrote where. */
  function runChild(format: LogFormat) {
    const source = readFileSync(new URL('../../src/log.ts', import.meta.url), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const code = `${js}\ncreateLogger({ logLevel: 'info', logFormat: '${format}' }, { pod_id: 'child' }).info('to stderr');`;
    // cwd = the repository, so the child resolves pino from its node_modules.
    return spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
  }

  it('is stderr for json, leaving stdout empty', () => {
    const child = runChild('json');
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toBe('');
    expect(JSON.parse(child.stderr)).toMatchObject({ level: 'info', msg: 'to stderr', pod_id: 'child' });
  });

  it('is stderr for console, leaving stdout empty', () => {
    const child = runChild('console');
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout).toBe('');
    expect(child.stderr).toMatch(/ INFO {2}to stderr pod_id=child\n$/);
  });
});
