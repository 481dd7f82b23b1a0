/**
 * A real Store read through a simulated clock: every call carries `now` from the clock (the test-only
 * time override every store method accepts, DESIGN §6), so a pod run on a `SimulatedClock` sees the
 * database agree with its timers. It also keeps the pod log the no-false-death check (I11) reads:
 * registrations (and the incarnations they retire), confirmed heartbeats and mark-downs, each with the last event id that existed then.
 * It owns no rule of its own and changes no argument but `now`.
 */
import type { Store } from '../store/store.js';
import type { PodLogEntry } from './invariants.js';

/** A store whose time is `now()`, and the pod log it keeps. */
export interface ClockedStore {
  readonly store: Store;
  readonly podLog: readonly PodLogEntry[];
}

/** Methods whose params carry no time (or that take none). */
const TIMELESS = new Set(['migrate', 'close', 'watchWork', 'stepGet', 'eventList', 'dlqList', 'capabilities', 'kind']);

/** Wraps `store` so every call happens at `now()`. */
export function clockedStore(store: Store, now: () => number): ClockedStore {
  const podLog: PodLogEntry[] = [];
  let seenEventId = 0;
  const lastEventId = async (): Promise<number> => {
    for (;;) {
      const page = await store.eventList({ afterEventId: seenEventId, limit: 500 });
      if (page.length === 0) return seenEventId;
      seenEventId = page[page.length - 1]!.eventId;
    }
  };
  const log = async (podId: string, kind: PodLogEntry['kind'], ts: number): Promise<void> => {
    podLog.push({ podId, kind, ts, seenEventId: await lastEventId() });
  };
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string' || TIMELESS.has(key)) {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      const method = value as (params?: Record<string, unknown>) => Promise<unknown>;
      return async (params?: Record<string, unknown>) => {
        const ts = now();
        const result = await method.call(target, { ...(params ?? {}), now: ts });
        const podId = params?.podId as string | undefined;
        if (key === 'podRegister' && podId !== undefined) {
          // A re-registration retires the pod's previous incarnation: the pod's own word, like a mark-down.
          const previous = params?.previousPodId as string | undefined;
          if (previous !== undefined) await log(previous, 'down', ts);
          await log(podId, 'up', ts);
        } else if (key === 'podHeartbeat' && podId !== undefined && (result as { ok?: boolean }).ok === true) await log(podId, 'heartbeat', ts);
        else if (key === 'podMarkDown' && podId !== undefined) await log(podId, 'down', ts);
        return result;
      };
    },
  });
  return { store: wrapped, podLog };
}
