/**
 * Times every Store call of a process: `fleet_q_store_operation_duration_seconds{operation}` and
 * `fleet_q_store_operation_errors_total{operation,error_class}`, where `operation` is the Store
 * method's name. A thin wrapper around whichever driver `openStore` returned, so no driver carries
 * metrics code and a method a driver adds later is timed too. Must not change what a call does,
 * returns or throws. Unlike `fleet_q_store_errors_total` (the pod runtime's own calls), this counts
 * every caller: the API, the runtime and metric scrapes.
 */
import { Counter, Histogram } from 'prom-client';
import { FleetError, StoreError } from '../errors.js';
import type { FleetMetrics } from '../metrics.js';
import type { Store } from '../store/store.js';

const DURATION = 'fleet_q_store_operation_duration_seconds';
const ERRORS = 'fleet_q_store_operation_errors_total';
/** Methods that are not statements: `watchWork` subscribes, `close` ends the store. */
const UNTIMED = new Set<PropertyKey>(['watchWork', 'close', 'constructor']);
const INSTRUMENTED = Symbol('fleet-q.instrumented');

/** The store-call metrics on `metrics.registry`, registered once per registry. */
function storeCallMetrics(metrics: FleetMetrics): { duration: Histogram<'operation'>; errors: Counter<'operation' | 'error_class'> } {
  const { registry } = metrics;
  const existing = registry.getSingleMetric(DURATION);
  if (existing !== undefined) {
    return { duration: existing as Histogram<'operation'>, errors: registry.getSingleMetric(ERRORS) as Counter<'operation' | 'error_class'> };
  }
  return {
    duration: new Histogram({
      name: DURATION,
      help: 'Time of each Store call (one transaction or statement), by Store method; failed calls included.',
      labelNames: ['operation'] as const,
      // A SQLite read takes ~50 µs; a PostgreSQL claim under load 1–20 ms; a remote warehouse seconds.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: ERRORS,
      help: 'Store calls that failed, by Store method and class (retryable, conflict, fatal for database errors; the error code otherwise).',
      labelNames: ['operation', 'error_class'] as const,
      registers: [registry],
    }),
  };
}

/** The class a failed call is counted under. */
export function errorClassOf(err: unknown): string {
  if (err instanceof StoreError) return err.errorClass;
  if (err instanceof FleetError) return err.code;
  return 'unclassified';
}

/**
 * `store` with every method timed on `metrics` (a promise until it settles). Wrapping an already wrapped store
 * returns it unchanged, so each call is counted once.
 */
export function instrumentStore(store: Store, metrics: FleetMetrics): Store {
  if ((store as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true) return store;
  const { duration, errors } = storeCallMetrics(metrics);
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === INSTRUMENTED) return true;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || UNTIMED.has(property) || typeof property !== 'string') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      let timed = wrapped.get(property);
      if (timed === undefined) {
        const operation = property;
        timed = (...args: unknown[]): unknown => {
          const end = duration.startTimer({ operation });
          const failed = (err: unknown): never => {
            end();
            errors.inc({ operation, error_class: errorClassOf(err) });
            throw err;
          };
          let result: unknown;
          try {
            result = (value as (...a: unknown[]) => unknown).apply(target, args);
          } catch (err) {
            return failed(err);
          }
          // A synchronous helper a driver exposes (diagnostics) stays synchronous.
          if (!(result instanceof Promise)) {
            end();
            return result;
          }
          return result.then((answer) => {
            end();
            return answer;
          }, failed);
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}
