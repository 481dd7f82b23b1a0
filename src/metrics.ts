/**
 * Prometheus metrics of one FLEET-Q process, on a registry of its own (never prom-client's global
 * one, so two apps in one process or one test file never collide). Owns metric names, help texts and
 * label sets; the pod's counters are registered by `registerPodMetrics`. Must not start timers: queue
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

/** What a follower reports: no samples for the queue-wide gauges (see registerQueueGauges). */
const NO_STATS: QueueStats = {
  pending: Number.NaN,
  claimed: Number.NaN,
  completed: Number.NaN,
  failed: Number.NaN,
  cancelled: Number.NaN,
  pendingByPriority: {},
  activeByType: {},
  pods: [],
  leader: null,
};

/**
 * Registers gauges that read `store.queueStats()` on each scrape: one query per scrape, shared by
 * every gauge (prom-client collects them concurrently). Registering twice on one registry is a no-op.
 * `shouldRead` (the pod leads) keeps followers from reading: their labelled gauges have no samples
 * and `fleet_q_live_pods` reads NaN; absent, every scrape reads.
 */
export function registerQueueGauges(metrics: FleetMetrics, store: Pick<Store, 'queueStats'>, shouldRead?: () => boolean): void {
  const { registry } = metrics;
  if (registry.getSingleMetric(QUEUE_GAUGE) !== undefined) return;
  let inFlight: Promise<QueueStats> | undefined;
  const scrapeStats = (): Promise<QueueStats> => {
    inFlight ??= (shouldRead === undefined || shouldRead() ? store.queueStats() : Promise.resolve(NO_STATS)).finally(() => {
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
      this.reset();
      if (stats === NO_STATS) return;
      this.set({ status: 'pending' }, stats.pending);
      this.set({ status: 'claimed' }, stats.claimed);
      this.set({ status: 'completed' }, stats.completed);
      this.set({ status: 'failed' }, stats.failed);
      this.set({ status: 'cancelled' }, stats.cancelled);
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

/**
 * Counters of a running pod, labelled with the event names of machines/events.ts (the same names
 * its log lines carry in `event`), so a log query and a metric query speak one vocabulary.
 */
export interface PodMetrics {
  /** Every pod fact and runtime event, by name (`heartbeat.missed`, `stale_write_rejected`, …). */
  readonly events: Counter<'event'>;
  /** Steps this pod finished, by outcome (`completed`, `retried`, `dead_lettered`, `released`, `stale`). */
  readonly stepOutcomes: Counter<'outcome'>;
  /** Steps this pod claimed. */
  readonly stepsClaimed: Counter;
  /** Claim-to-outcome time of each step on this pod, by outcome. */
  readonly stepDuration: Histogram<'outcome'>;
  /** Store calls that failed, by Store method and class (`retryable | conflict | fatal`, or the error code). */
  readonly storeErrors: Counter<'operation' | 'error_class'>;
  /** Round trip of each heartbeat statement, from the call to its confirmation. */
  readonly heartbeatLatency: Histogram;
}

const POD_EVENTS_METRIC = 'fleet_q_pod_events_total';
const HEARTBEAT_LATENCY_METRIC = 'fleet_q_heartbeat_latency_seconds';

/**
 * Registers the pod counters on `metrics.registry`, or returns the ones already there (two pods in one
 * process may share a registry; their counts add up, as they would in one scrape of both).
 */
export function registerPodMetrics(metrics: FleetMetrics): PodMetrics {
  const { registry } = metrics;
  const existing = <M>(name: string): M | undefined => registry.getSingleMetric(name) as M | undefined;
  if (existing(POD_EVENTS_METRIC) !== undefined) {
    return {
      events: existing<Counter<'event'>>(POD_EVENTS_METRIC)!,
      stepOutcomes: existing<Counter<'outcome'>>('fleet_q_step_outcomes_total')!,
      stepsClaimed: existing<Counter>('fleet_q_steps_claimed_total')!,
      stepDuration: existing<Histogram<'outcome'>>('fleet_q_step_duration_seconds')!,
      storeErrors: existing<Counter<'operation' | 'error_class'>>('fleet_q_store_errors_total')!,
      heartbeatLatency: existing<Histogram>(HEARTBEAT_LATENCY_METRIC)!,
    };
  }
  return {
    events: new Counter({
      name: POD_EVENTS_METRIC,
      help: 'Pod events by name, as logged in the event field (pod.fenced, heartbeat.missed, step.completed, …).',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    stepOutcomes: new Counter({
      name: 'fleet_q_step_outcomes_total',
      help: 'Steps finished on this pod, by outcome (completed, retried, dead_lettered, released, stale).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    stepsClaimed: new Counter({
      name: 'fleet_q_steps_claimed_total',
      help: 'Steps claimed by this pod.',
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'fleet_q_step_duration_seconds',
      help: 'Time from claiming a step to recording its outcome on this pod, by outcome.',
      labelNames: ['outcome'] as const,
      // Built-in steps take milliseconds; user steps range up to the 15-minute default timeout.
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'fleet_q_store_errors_total',
      help: 'Failed store calls of the pod runtime, by Store method and error class.',
      labelNames: ['operation', 'error_class'] as const,
      registers: [registry],
    }),
    heartbeatLatency: new Histogram({
      name: HEARTBEAT_LATENCY_METRIC,
      help: 'Heartbeat statement latency on this pod, from the call to its confirmation (compare with FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS).',
      // A few ms on SQLite and PostgreSQL, 0.1–2 s on Snowflake; budgets are around 1–5 s.
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
  };
}
