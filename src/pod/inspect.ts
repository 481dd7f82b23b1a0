/**
 * Live inspection (FLEET_Q_INSPECT): attaches the Stately WebSocket inspector (`@statelyai/inspect`) to
 * a pod's actor system, so a developer watches the supervisor, slots, step actors and custom lifecycles
 * of a running pod. Off unless configured. It owns the inspector's life (created with the pod's actor,
 * stopped when the pod ends); it must not change what the pod does. Inspection events carry step
 * arguments and results: point it only at an inspector you trust.
 *
 * The package is ESM-only and loaded on demand, so a pod without inspection never loads it.
 */
import type { InspectionEvent, Observer } from 'xstate';

/** An attached inspector: pass `inspect` to `createActor`, call `stop` when the pod ends. */
export interface PodInspector {
  readonly inspect: Observer<InspectionEvent>;
  stop(): void;
}

/** A WebSocket inspector sending to `url` (ws:// or wss://). */
export async function createPodInspector(url: string): Promise<PodInspector> {
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url });
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}
