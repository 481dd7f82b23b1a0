/**
 * A real API for the http-*.test.ts files: `buildApp` over a real, migrated SQLite store in a fresh
 * temp directory, plus a PodControl test double (the pod is not the unit under test). Owns setup and
 * teardown only; assertions live in the tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp, type AppDeps } from '../../src/http/app.js';
import type { PodControl, PodHealthView, RecoveryRun } from '../../src/pod/control.js';
import { defineStep, StepRegistry } from '../../src/steps/registry.js';
import { withBuiltinSteps } from '../../src/steps/load.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/driver.js';
import type { StorePolicy } from '../../src/store/store.js';

export const POLICY: StorePolicy = { baseDelayMs: 1000, maxDelayMs: 8000, deadPodThresholdMs: 60_000, maxReleases: 3 };
export const DEFAULTS = { defaultMaxRetries: 3, defaultStepTimeoutMs: 900_000 };

/** Built-ins plus a type with a strict schema, to exercise args validation. */
export const registry = new StepRegistry(
  withBuiltinSteps([
    defineStep({
      type: 'email.send',
      args: z.object({ to: z.email(), subject: z.string().max(100) }).strict(),
      handler: () => null,
      maxRetries: 5,
    }),
  ]),
);

/** A PodControl whose answers the test sets; it records recovery calls. */
export class FakePod implements PodControl {
  view: PodHealthView = {
    podId: 'pod-a-0000abcd',
    status: 'healthy',
    uptimeSeconds: 12.5,
    inFlight: 2,
    capacity: 8,
    isLeader: true,
    version: '9.9.9',
    lastLeaderCheck: 1_700_000_000_000,
  };
  recoveryCalls: { force: boolean; dryRun: boolean }[] = [];
  recovery: (options: { force: boolean; dryRun: boolean }) => Promise<RecoveryRun> = async (options) => ({
    cycleId: 'cycle-1',
    summary: { dryRun: options.dryRun, deadPods: [], orphanedSteps: [], requeued: [], deadLettered: [], durationMs: 3 },
  });

  health(): PodHealthView {
    return this.view;
  }

  runRecovery(options: { readonly force: boolean; readonly dryRun: boolean }): Promise<RecoveryRun> {
    this.recoveryCalls.push({ ...options });
    return this.recovery(options);
  }
}

export interface TestApi {
  readonly app: FastifyInstance;
  readonly store: SqliteStore;
  readonly path: string;
  close(): Promise<void>;
}

/** A fresh database and an app over it; `migrate: false` leaves the file without tables. */
export async function openTestApi(
  options: { pod?: PodControl; migrate?: boolean; store?: Partial<Parameters<typeof openSqliteStore>[0]>; app?: Partial<AppDeps> } = {},
): Promise<TestApi> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-q-http-'));
  const path = join(dir, 'queue.db');
  const store = await openSqliteStore({ path, policy: POLICY, ...options.store });
  if (options.migrate !== false) await store.migrate();
  const app = await buildApp({ store, registry, defaults: DEFAULTS, ...(options.pod === undefined ? {} : { pod: options.pod }), ...options.app });
  return {
    app,
    store,
    path,
    async close() {
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Status counts, to prove a refused request wrote nothing. */
export async function counts(store: SqliteStore): Promise<{ pending: number; claimed: number; completed: number; failed: number; events: number }> {
  const stats = await store.queueStats();
  const events = await store.eventList({});
  return { pending: stats.pending, claimed: stats.claimed, completed: stats.completed, failed: stats.failed, events: events.length };
}

/** ISO-8601 UTC with milliseconds, as every time in a body. */
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Expected keys of the error body. */
export const ERROR_KEYS = ['detail', 'error_type', 'path', 'timestamp'];
