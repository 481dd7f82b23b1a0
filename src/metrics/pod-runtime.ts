/**
 * Metrics of one pod's runtime that its facts (machines/events.ts) and its own state answer: fenced
 * writes rejected as stale, claim batch sizes, the age of the last proof of liveness, the leader
 * flag, and the results of recovery sweeps. Subscribes to the facts a pod publishes and reads two
 * values at scrape time; must not change what the pod does, and must not touch the store.
 *
 * Several pods in one process (tests, a library user) share a registry: the leader flag is the
 * highest of theirs and the heartbeat age the oldest, so one scrape of the process stays truthful.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { PodFact } from '../../machines/index.js';
import type { FleetMetrics } from '../metrics.js';

/** What the runtime metrics read from a pod. */
export interface PodRuntimeSource {
  onFact(listener: (fact: PodFact) => void): () => void;
  /** Whether this pod's last leader check made it the leader. */
  isLeader(): boolean;
  /** Seconds since the pod last registered or confirmed a heartbeat; before the first, since it started. */
  heartbeatAgeSeconds(): number;
}

interface RuntimeMetrics {
  readonly staleWrites: Counter;
  readonly claimBatch: Histogram;
  readonly sweeps: Counter<'result'>;
  readonly sweptSteps: Counter<'outcome'>;
  readonly sweptPods: Counter;
  readonly sweepDuration: Histogram;
  readonly sources: Set<PodRuntimeSource>;
}

const registered = new WeakMap<FleetMetrics['registry'], RuntimeMetrics>();

function runtimeMetrics(metrics: FleetMetrics): RuntimeMetrics {
  const { registry } = metrics;
  const known = registered.get(registry);
  if (known !== undefined) return known;
  const sources = new Set<PodRuntimeSource>();
  const made: RuntimeMetrics = {
    sources,
    staleWrites: new Counter({
      name: 'fleet_q_stale_writes_rejected_total',
      help: 'Fenced writes (complete, fail, release) that matched no row because this pod had lost the claim; the outcome was dropped.',
      registers: [registry],
    }),
    claimBatch: new Histogram({
      name: 'fleet_q_claim_batch_size',
      help: "Steps one claim statement returned (0: nothing due of this pod's types).",
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000],
      registers: [registry],
    }),
    sweeps: new Counter({
      name: 'fleet_q_recovery_sweeps_total',
      help: 'Recovery sweeps this pod ran, by result (completed, dry_run, failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    sweptSteps: new Counter({
      name: 'fleet_q_recovery_steps_total',
      help: "Steps recovered from dead pods by this pod's sweeps, by outcome (requeued, dead_lettered).",
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    sweptPods: new Counter({
      name: 'fleet_q_recovery_dead_pods_total',
      help: "Pods this pod's sweeps marked down because their heartbeat was too old.",
      registers: [registry],
    }),
    sweepDuration: new Histogram({
      name: 'fleet_q_recovery_sweep_duration_seconds',
      help: 'Time of each recovery sweep this pod ran (completed and dry runs).',
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'fleet_q_is_leader',
    help: '1 while this pod is the leader (the live pod with the smallest birth_ts, pod_id), else 0.',
    registers: [registry],
    collect() {
      this.set([...sources].some((s) => s.isLeader()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fleet_q_heartbeat_age_seconds',
    help: 'Seconds since this pod last registered or had a heartbeat confirmed by the database (before that: since it started).',
    registers: [registry],
    collect() {
      const ages = [...sources].map((s) => s.heartbeatAgeSeconds());
      // No pod in this process (an API without a runtime): no age to report.
      this.set(ages.length === 0 ? Number.NaN : Math.max(...ages));
    },
  });
  registered.set(registry, made);
  return made;
}

/** Counts `source`'s facts and reads its gauges on `metrics`; returns the function that stops both. */
export function observePodRuntime(metrics: FleetMetrics, source: PodRuntimeSource): () => void {
  const m = runtimeMetrics(metrics);
  m.sources.add(source);
  const unsubscribe = source.onFact((fact) => {
    switch (fact.type) {
      case 'slot.freed':
        if (fact.outcome === 'stale') m.staleWrites.inc();
        return;
      case 'claim.completed':
        m.claimBatch.observe(fact.stepIds.length);
        return;
      case 'recovery.completed': {
        const r = fact.report;
        m.sweeps.inc({ result: r.dryRun ? 'dry_run' : 'completed' });
        m.sweepDuration.observe(r.durationMs / 1000);
        if (r.dryRun) return;
        m.sweptSteps.inc({ outcome: 'requeued' }, r.requeued.length);
        m.sweptSteps.inc({ outcome: 'dead_lettered' }, r.deadLettered.length);
        m.sweptPods.inc(r.deadPods.length);
        return;
      }
      case 'recovery.failed':
        m.sweeps.inc({ result: 'failed' });
        return;
      default:
        return;
    }
  });
  return () => {
    unsubscribe();
    m.sources.delete(source);
  };
}
