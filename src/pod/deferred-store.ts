/**
 * A stand-in for the store while `fleet-q start` is still opening it (the database is unreachable at
 * start-up): the HTTP API is served over this from the first moment, so `/health` answers 503
 * `starting` and every route that needs the database answers 503 `database_error` (retryable) instead
 * of the port refusing connections. Once `resolve(store)` is called every method forwards to the real
 * store. Owns the hand-over only: no SQL, no retries (start.ts retries the open).
 */
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';

/** A store that forwards to the real one once it is opened. */
export interface DeferredStore {
  readonly store: Store;
  /** Hands over to the opened store; call once. */
  resolve(store: Store): void;
}

/**
 * Creates the stand-in. It forwards by method name (a Proxy), so every method the Store interface
 * has or gains behaves the same: async methods reject while no store is there, `watchWork` (the one
 * synchronous method) subscribes nowhere, and `close` resolves.
 */
export function deferredStore(): DeferredStore {
  let real: Store | undefined;
  const notYet = (): Promise<never> => Promise.reject(new StoreError('retryable', 'the pod is starting and its database is not reachable yet'));
  const store = new Proxy({} as Store, {
    get(_target, name) {
      if (real !== undefined) {
        const value = Reflect.get(real, name) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
      }
      if (name === 'then') return undefined; // not a thenable: `await` must not treat it as a promise
      if (name === 'watchWork') return () => () => undefined;
      if (name === 'close') return () => Promise.resolve();
      if (name === 'capabilities' || name === 'policy') return undefined;
      return notYet;
    },
  });
  return {
    store,
    resolve(opened) {
      real = opened;
    },
  };
}
