/**
 * The Store timing wrapper (src/metrics/store-timing.ts) around a real SQLite store: every call is
 * timed by method, failures are counted by class and rethrown unchanged, results pass through,
 * synchronous helpers stay synchronous, and wrapping twice counts once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics.js';
import { instrumentStore } from '../../src/metrics/store-timing.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';

const POLICY = { baseDelayMs: 1000, maxDelayMs: 8000, deadPodThresholdMs: 60_000, maxReleases: 3 };
let dir: string;
let raw: SqliteStore;

afterEach(async () => {
  await raw.close();
  await rm(dir, { recursive: true, force: true });
});

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it('times every call by method, counts failures by class, and changes no answer', async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-timing-'));
  raw = await openSqliteStore({ path: join(dir, 'q.db'), tablePrefix: '', policy: POLICY });
  await raw.migrate();
  const metrics = createMetrics();
  const store = instrumentStore(instrumentStore(raw, metrics), metrics);

  const { stepId } = await store.stepSubmit({ type: 'echo', args: { n: 1 }, maxRetries: 0, timeoutMs: 1000 });
  expect((await store.stepGet({ stepId }))?.args).toEqual({ n: 1 });
  const refused = await store.stepReplay({ stepId: 'step_missing' }).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(NotFoundError);
  // A synchronous diagnostic of the driver answers synchronously through the wrapper.
  expect((store as SqliteStore).connectionSettings().journalMode).toBe('wal');

  const text = await metrics.registry.metrics();
  expect(sample(text, 'fleet_q_store_operation_duration_seconds_count{operation="stepSubmit"}')).toBe(1);
  expect(sample(text, 'fleet_q_store_operation_duration_seconds_count{operation="stepGet"}')).toBe(1);
  expect(sample(text, 'fleet_q_store_operation_duration_seconds_count{operation="stepReplay"}')).toBe(1);
  expect(sample(text, 'fleet_q_store_operation_errors_total{operation="stepReplay",error_class="not_found"}')).toBe(1);
  expect(text).not.toContain('operation="watchWork"');
  expect(text).not.toContain('operation="stepSubmit",error_class');
});
