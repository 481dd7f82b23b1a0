/**
 * Several processes on one file: a separate Node process keeps taking the SQLite write lock in
 * short bursts (as other pods' claims and heartbeats do) while three store instances here submit,
 * claim and complete 300 steps. Every step must complete exactly once, with exactly one `claimed`
 * event per attempt, and the busy path must actually have been exercised.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';

const POLICY: StorePolicy = { baseDelayMs: 1, maxDelayMs: 1, deadPodThresholdMs: 60_000, maxReleases: 3 };
const STEPS = 300;
const META = { max_parallelism: 8, capacity: 8, in_flight: 0, version: '0', host: 'h' };

/** Holds BEGIN IMMEDIATE for 10–25 ms (longer than the 5 ms busy timeout below), pauses 0–5 ms, until stdin closes; prints how often it held the lock. */
const CONTENDER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2], { timeout: 5000 });
let held = 0, stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
process.stdout.write('ready\\n');
const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };
const burst = () => {
  if (stop) { db.close(); process.stdout.write('held ' + held + '\\n'); return; }
  db.exec('BEGIN IMMEDIATE'); spin(10 + Math.random() * 15); db.exec('COMMIT'); held++;
  process.stdout.write('h\\n');
  setTimeout(burst, Math.random() * 5);
};
burst();
`;

let dir: string;
const stores: SqliteStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-q-sqlite-multiprocess-'));
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

it('three store instances and another process share one file: every step completes exactly once', async () => {
  const path = join(dir, 'queue.db');
  for (let i = 0; i < 3; i++) stores.push(await openSqliteStore({ path, policy: POLICY, busyTimeoutMs: 5 }));
  await stores[0]!.migrate();

  const betterSqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const contender = spawn(process.execPath, ['-e', CONTENDER, betterSqlite, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  contender.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve) => contender.stdout.once('data', () => resolve()));

  const pods = stores.map((_, i) => `pod${i}-0000000${i}`);
  await Promise.all(stores.map((s, i) => s.podRegister({ podId: pods[i]!, name: `pod${i}`, meta: META })));
  await Promise.all(
    Array.from({ length: STEPS / 30 }, (_, b) =>
      stores[b % 3]!.stepSubmitBatch({ steps: Array.from({ length: 30 }, (_, i) => ({ type: 'echo', args: { b, i }, maxRetries: 3, timeoutMs: 60_000 })) }),
    ),
  );

  const completedBy = new Map<string, string>();
  // Workers keep polling until the queue is drained AND the contender has really competed AND a
  // write of ours has waited it out (a fast drain could otherwise finish before the other process
  // took the lock ten times, or between its holds: a CI run under load once drained 300 steps with
  // no busy retry). Idle claims only read, so an idle worker heartbeats: a write that meets the
  // contender's lock.
  const holds = () => output.split('\n').filter((line) => line === 'h').length;
  const busyRetries = () => stores.reduce((n, s) => n + s.busyRetries, 0);
  const work = async (store: SqliteStore, podId: string) => {
    for (let idle = 0; idle < 20 || holds() <= 10 || busyRetries() === 0;) {
      const claimed = await store.stepClaim({ podId, types: ['echo'], limit: 8 });
      if (claimed.length === 0) {
        idle++;
        await store.podHeartbeat({ podId });
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      idle = 0;
      for (const step of claimed) {
        const outcome = await store.stepComplete({ stepId: step.stepId, podId, attempt: step.attempt, result: { by: podId } });
        expect(outcome.applied).toBe(true);
        expect(completedBy.has(step.stepId)).toBe(false);
        completedBy.set(step.stepId, podId);
      }
    }
  };
  await Promise.all(stores.map((s, i) => work(s, pods[i]!)));

  contender.stdin.end();
  await new Promise<void>((resolve) => contender.once('exit', () => resolve()));

  const stats = await stores[0]!.queueStats();
  expect(stats).toMatchObject({ pending: 0, claimed: 0, completed: STEPS, failed: 0 });
  expect(completedBy.size).toBe(STEPS);
  const claims = (await stores[0]!.eventList({})).filter((e) => e.kind === 'claimed');
  expect(claims).toHaveLength(STEPS);
  expect(new Set(claims.map((e) => `${e.stepId}#${e.attempt}`)).size).toBe(STEPS);
  // The other process really competed for the lock, and our calls really waited it out.
  expect(Number(/held (\d+)/.exec(output)?.[1] ?? 0)).toBeGreaterThan(10);
  expect(busyRetries()).toBeGreaterThan(0);
});
