/**
 * Prometheus metrics of one FLEET-Q process, on a registry of its own (never prom-client's global
 * one, so two apps in one process or one test file never collide). Owns metric names, help texts and
 * label sets; the pod adds its counters to `registry` the same way. Must not start timers: queue
 * gauges are read from the store when scraped, and only then.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats, Store } from './store/store.js';

/** The metrics every FLEET-Q process exposes on GET /metrics. */
export interface FleetMetrics {
  readonly registry: Registry;
  /** Answered HTTP requests; `route` is the route pattern (`/status/:step_id`), or `unmatched`. */
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpRequestDuration: Histogram<'method' | 'route'>;
}

/** A fresh registry with the HTTP metrics registered. */
export function createMetrics(): FleetMetrics {
  const registry = new Registry();
  const httpRequests = new Counter({
    name: 'fleet_q_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const httpRequestDuration = new Histogram({
    name: 'fleet_q_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending the response.',
    labelNames: ['method', 'route'] as const,
    // Submits on SQLite take ~1 ms; batches and remote databases reach seconds.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpRequests, httpRequestDuration };
}

const QUEUE_GAUGE = 'fleet_q_steps';

/**
 * Registers gauges that read `store.queueStats()` on each scrape: one query per scrape, shared by
 * every gauge (prom-client collects them concurrently). Registering twice on one registry is a no-op.
 */
export function registerQueueGauges(metrics: FleetMetrics, store: Pick<Store, 'queueStats'>): void {
  const { registry } = metrics;
  if (registry.getSingleMetric(QUEUE_GAUGE) !== undefined) return;
  let inFlight: Promise<QueueStats> | undefined;
  const scrapeStats = (): Promise<QueueStats> => {
    inFlight ??= store.queueStats().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  new Gauge({
    name: QUEUE_GAUGE,
    help: 'Steps in the queue by status (failed = the dead-letter queue).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const stats = await scrapeStats();
      this.set({ status: 'pending' }, stats.pending);
      this.set({ status: 'claimed' }, stats.claimed);
      this.set({ status: 'completed' }, stats.completed);
      this.set({ status: 'failed' }, stats.failed);
    },
  });
  new Gauge({
    name: 'fleet_q_pending_steps_by_priority',
    help: 'Pending steps by priority.',
    labelNames: ['priority'] as const,
    registers: [registry],
    async collect() {
      const stats = await scrapeStats();
      this.reset();
      for (const [priority, count] of Object.entries(stats.pendingByPriority)) this.set({ priority }, count);
    },
  });
  new Gauge({
    name: 'fleet_q_active_steps_by_type',
    help: 'Pending plus claimed steps by step type.',
    labelNames: ['type'] as const,
    registers: [registry],
    async collect() {
      const stats = await scrapeStats();
      this.reset();
      for (const [type, count] of Object.entries(stats.activeByType)) this.set({ type }, count);
    },
  });
  new Gauge({
    name: 'fleet_q_live_pods',
    help: 'Pods whose heartbeat is fresh, judged by the database clock.',
    registers: [registry],
    async collect() {
      this.set((await scrapeStats()).pods.length);
    },
  });
}
