/**
 * Queue-age gauges: per priority, how long the oldest due pending step has waited
 * (`fleet_q_queue_age_seconds`), how many are due (`fleet_q_due_steps`), and how many pending steps are
 * past their deadline (`fleet_q_steps_past_deadline`), judged by the database
 * clock. Queue-wide numbers are the same whichever pod reports them, so only the leader reads them:
 * one `Store.queueAge` statement per scrape on one pod, not one per pod (followers report no
 * samples). Concurrent scrapes share one read. Must not start timers or read outside a scrape.
 */
import { Gauge } from 'prom-client';
import type { FleetMetrics } from '../metrics.js';
import type { QueueAgeResult, Store } from '../store/store.js';

const AGE_GAUGE = 'fleet_q_queue_age_seconds';

/**
 * Registers the gauges on `metrics.registry` (once per registry). `shouldRead` says whether this
 * process reads queue-wide numbers now (the pod leads); absent, it always reads (an API without a pod).
 */
export function registerQueueAgeGauges(metrics: FleetMetrics, store: Pick<Store, 'queueAge'>, shouldRead?: () => boolean): void {
  const { registry } = metrics;
  if (registry.getSingleMetric(AGE_GAUGE) !== undefined) return;
  let inFlight: Promise<QueueAgeResult | null> | undefined;
  const read = (): Promise<QueueAgeResult | null> => {
    inFlight ??= (shouldRead === undefined || shouldRead() ? store.queueAge() : Promise.resolve(null)).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  new Gauge({
    name: AGE_GAUGE,
    help: 'Seconds the oldest due pending step of each priority has waited to be claimed (leader only; database clock).',
    labelNames: ['priority'] as const,
    registers: [registry],
    async collect() {
      const age = await read();
      this.reset();
      for (const entry of age?.byPriority ?? []) {
        this.set({ priority: String(entry.priority) }, Math.max(0, age!.checkedAt - entry.oldestDueTs) / 1000);
      }
    },
  });
  new Gauge({
    name: 'fleet_q_due_steps',
    help: 'Pending steps whose run_after has passed, by priority (leader only).',
    labelNames: ['priority'] as const,
    registers: [registry],
    async collect() {
      const age = await read();
      this.reset();
      for (const entry of age?.byPriority ?? []) this.set({ priority: String(entry.priority) }, entry.due);
    },
  });
  new Gauge({
    name: 'fleet_q_steps_past_deadline',
    help: 'Pending steps whose deadline has passed, due or not (leader only; database clock).',
    registers: [registry],
    async collect() {
      const age = await read();
      this.reset();
      if (age !== null) this.set(age.pastDeadline);
    },
  });
}
