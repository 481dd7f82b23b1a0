/**
 * `fleet-q start`: one pod process. Logs the configuration (secrets redacted), refuses an API open to
 * other hosts without tokens, serves the HTTP API on FLEET_Q_API_HOST:FLEET_Q_API_PORT at once (503
 * `starting` while the database cannot be opened yet), opens and migrates the store, starts the pod
 * behind the API's PodControl, and on SIGTERM or SIGINT drains (DESIGN §3: `/health` answers 503 `draining` meanwhile
 * and submits still work), closes the API and the store, and resolves exit code 0. A second signal
 * exits 1 at once. Owns the process wiring only; the pod's behaviour is pod.ts's, the routes http/'s.
 */
import type { FastifyInstance } from 'fastify';
import { capacityOf, redactConfig, type FleetConfig } from '../config/config.js';
import { buildApp } from '../http/app.js';
import { apiAuthOf, assertApiExposureAllowed } from '../http/auth.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { instrumentStore } from '../metrics/store-timing.js';
import { createPod, type Pod } from './pod.js';
import { loadHandlerModule, loadHandlerSchedules, withBuiltinSteps } from '../steps/load.js';
import { compileSchedules } from '../schedules/definition.js';
import { isRetryableStoreError, StoreError } from '../errors.js';
import { StepRegistry } from '../steps/registry.js';
import type { PodControl, PodHealthView } from './control.js';
import { deferredStore } from './deferred-store.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { FLEET_Q_VERSION } from '../version.js';

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Seams for tests; a real `fleet-q start` uses the defaults. */
export interface PodCommandHooks {
  /** Where SIGTERM and SIGINT arrive (default: `process`). */
  readonly signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** The forced exit of a second signal (default: `process.exit`). */
  readonly exit?: (code: number) => void;
  /** Told the bound address (`http://host:port`) once the API listens. */
  readonly onListening?: (address: string) => void;
  /** Default: a logger from the configuration, on stderr. */
  readonly logger?: Logger;
}

/** Runs a pod until a signal drains it; resolves the process exit code (0 after a drain, 1 if the pod crashed). */
export async function runPodCommand(config: FleetConfig, hooks: PodCommandHooks = {}): Promise<number> {
  const logger = hooks.logger ?? createLogger(config);
  logger.info({ version: FLEET_Q_VERSION, config: redactConfig(config) }, 'starting FLEET-Q pod');
  // Listening from the first moment: a signal during start-up still ends the pod cleanly.
  const signals = watchSignals(hooks.signals ?? process, logger, hooks.exit ?? ((code) => process.exit(code)));
  let store: Store | undefined;
  let pod: Pod | undefined;
  let app: FastifyInstance | undefined;
  try {
    assertApiExposureAllowed(config);
    // A bad FLEET_Q_HANDLERS module is a configuration error (exit 2) found before the database is
    // created or touched; the pod's own import of it later hits the module cache.
    const registry = new StepRegistry(withBuiltinSteps(config.handlers === undefined ? [] : await loadHandlerModule(config.handlers)));
    // Bad schedules are configuration errors too (exit 2, every problem listed), found before the database.
    const schedules = compileSchedules(config.handlers === undefined ? [] : await loadHandlerSchedules(config.handlers), registry, config);
    const metrics = createMetrics();
    // The API is served before the store exists, so probes hear `starting` rather than a refused port.
    const deferred = deferredStore();
    const control = podControlWhileStarting(config, () => pod);
    app = await buildApp({
      store: deferred.store,
      registry,
      defaults: { defaultMaxRetries: config.defaultMaxRetries, defaultStepTimeoutMs: config.defaultStepTimeoutMs },
      pod: control,
      schedules,
      logger: logger.child({ component: 'http' }),
      metrics,
      auth: apiAuthOf(config),
      metricsPublic: config.metricsPublic,
    });
    const address = await app.listen({ host: config.apiHost, port: config.apiPort });
    logger.info({ address, auth: apiAuthOf(config).enabled ? 'bearer tokens' : 'none' }, 'HTTP API listening');
    hooks.onListening?.(address);

    const opened = await openStoreWhenReachable(config, logger, signals.first);
    if (opened === undefined) return 0; // a signal came while the database was still unreachable
    store = instrumentStore(opened, metrics);
    deferred.resolve(store);
    pod = createPod({ config, store, logger, metrics });
    await pod.start();

    const ended = await Promise.race([signals.first.then(() => null), pod.exited]);
    if (ended === null) await pod.drain();
    const exit = await pod.exited;
    return exit.reason === 'crashed' ? 1 : 0;
  } catch (err) {
    // Claims made before the failure are released rather than left to the dead-pod sweep.
    await pod?.drain().catch(() => undefined);
    throw err;
  } finally {
    signals.dispose();
    await app?.close().catch((err: unknown) => logger.warn({ err }, 'closing the HTTP API failed'));
    await pod?.stop();
    await store?.close().catch((err: unknown) => logger.warn({ err }, 'closing the store failed'));
  }
}

/**
 * The PodControl the API asks: the pod once it exists; before that (the store is still being opened)
 * `starting` with this process's capacity, and recovery runs refused as a retryable database error.
 */
function podControlWhileStarting(config: FleetConfig, current: () => Pod | undefined): PodControl {
  const startedAt = Date.now();
  const starting = (): PodHealthView => ({
    podId: null,
    status: 'starting',
    uptimeSeconds: (Date.now() - startedAt) / 1000,
    inFlight: 0,
    capacity: capacityOf(config),
    isLeader: false,
    version: FLEET_Q_VERSION,
    lastLeaderCheck: null,
  });
  return {
    health: () => current()?.health() ?? starting(),
    runRecovery: (options) =>
      current()?.runRecovery(options) ?? Promise.reject(new StoreError('retryable', 'the pod is starting and its database is not reachable yet')),
  };
}

/** Pauses between attempts to reach a database that is down at start-up: doubling from 0.5 s to 10 s. */
const OPEN_RETRY_FIRST_MS = 500;
const OPEN_RETRY_MAX_MS = 10_000;

/**
 * Opens and migrates the store, waiting out a database that is not reachable yet (a pod scheduled
 * before its database, or during a restart): retryable errors are logged and tried again with
 * backoff; anything else (a newer schema, a bad path, bad credentials) is thrown at once. Resolves
 * undefined when `stop` (the first signal) comes first.
 */
async function openStoreWhenReachable(config: FleetConfig, logger: Logger, stop: Promise<void>): Promise<Store | undefined> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  for (let pauseMs = OPEN_RETRY_FIRST_MS; ; pauseMs = Math.min(pauseMs * 2, OPEN_RETRY_MAX_MS)) {
    try {
      return await openStore(config);
    } catch (err) {
      if (!isRetryableStoreError(err) || stopped) throw err;
      logger.warn({ event: 'store.unreachable', err, retry_in_ms: pauseMs }, 'database not reachable; retrying');
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise<void>((resolve) => (timer = setTimeout(resolve, pauseMs)))]);
    clearTimeout(timer);
    if (stopped) return undefined;
  }
}

/** `first` resolves on the first SIGTERM/SIGINT; a second one exits 1 without waiting for the drain. */
function watchSignals(source: Pick<NodeJS.EventEmitter, 'on' | 'off'>, logger: Logger, exit: (code: number) => void) {
  let received = 0;
  let resolveFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      logger.info({ signal }, `received ${signal}: draining (send it again to exit at once)`);
      resolveFirst();
      return;
    }
    logger.warn({ signal }, `received ${signal} again: exiting without finishing the drain`);
    exit(1);
  };
  for (const signal of SHUTDOWN_SIGNALS) source.on(signal, onSignal);
  return {
    first,
    dispose: () => {
      for (const signal of SHUTDOWN_SIGNALS) source.off(signal, onSignal);
    },
  };
}
