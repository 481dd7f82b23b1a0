/**
 * The pod-runtime metrics (src/metrics/pod-runtime.ts) from the facts a pod publishes: stale writes,
 * claim batch sizes, recovery sweep results (dry runs counted apart, their steps not), and the
 * leader flag and heartbeat age across the pods sharing a registry. The facts are fed by hand: they
 * are this unit's input, and their shapes are the machines' own types.
 */
import { describe, expect, it } from 'vitest';
import type { PodFact } from '../../machines/index.js';
import { createMetrics } from '../../src/metrics.js';
import { observePodRuntime, type PodRuntimeSource } from '../../src/metrics/pod-runtime.js';

class Source implements PodRuntimeSource {
  readonly listeners = new Set<(fact: PodFact) => void>();
  leader = false;
  age = 0;
  onFact(listener: (fact: PodFact) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  isLeader(): boolean {
    return this.leader;
  }
  heartbeatAgeSeconds(): number {
    return this.age;
  }
  publish(fact: PodFact): void {
    for (const listener of this.listeners) listener(fact);
  }
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const report = (dryRun: boolean, requeued: string[], deadLettered: string[], deadPods: string[]) => ({
  dryRun,
  requeued,
  deadLettered,
  deadPods,
  orphanedSteps: [...requeued, ...deadLettered],
  durationMs: 12,
});

describe('pod runtime metrics', () => {
  it('count stale outcomes, claim sizes and sweep results from facts', async () => {
    const metrics = createMetrics();
    const source = new Source();
    const stop = observePodRuntime(metrics, source);
    source.publish({ type: 'slot.freed', slotId: 's1', stepId: 'step_1', outcome: 'stale' } as PodFact);
    source.publish({ type: 'slot.freed', slotId: 's1', stepId: 'step_2', outcome: 'completed' } as PodFact);
    source.publish({ type: 'slot.freed', slotId: 's2', stepId: 'step_4', outcome: 'stale' } as PodFact);
    source.publish({ type: 'claim.completed', podId: 'p', limit: 8, stepIds: ['a', 'b', 'c'] });
    source.publish({ type: 'claim.completed', podId: 'p', limit: 8, stepIds: [] });
    source.publish({ type: 'recovery.completed', requestId: null, report: report(false, ['x', 'y'], ['z'], ['dead-1']) });
    source.publish({ type: 'recovery.completed', requestId: 'r', report: report(true, ['q'], ['w'], ['dead-2']) });
    source.publish({ type: 'recovery.failed', requestId: null, error: 'database down' });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'fleet_q_stale_writes_rejected_total')).toBe(2);
    expect(sample(text, 'fleet_q_claim_batch_size_count')).toBe(2);
    expect(sample(text, 'fleet_q_claim_batch_size_sum')).toBe(3);
    expect(sample(text, 'fleet_q_claim_batch_size_bucket{le="0"}')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_sweeps_total{result="completed"}')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_sweeps_total{result="dry_run"}')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_sweeps_total{result="failed"}')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_steps_total{outcome="requeued"}')).toBe(2);
    expect(sample(text, 'fleet_q_recovery_steps_total{outcome="dead_lettered"}')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_dead_pods_total')).toBe(1);
    expect(sample(text, 'fleet_q_recovery_sweep_duration_seconds_count')).toBe(2);
    stop();
    source.publish({ type: 'slot.freed', slotId: 's1', stepId: 'step_3', outcome: 'stale' } as PodFact);
    expect(sample(await metrics.registry.metrics(), 'fleet_q_stale_writes_rejected_total')).toBe(2);
  });

  it('report the leader flag of any pod sharing the registry and the oldest heartbeat, until a pod is gone', async () => {
    const metrics = createMetrics();
    const a = new Source();
    const b = new Source();
    const stopA = observePodRuntime(metrics, a);
    const stopB = observePodRuntime(metrics, b);
    a.age = 0.5;
    b.age = 7;
    expect(sample(await metrics.registry.metrics(), 'fleet_q_is_leader')).toBe(0);
    b.leader = true;
    let text = await metrics.registry.metrics();
    expect(sample(text, 'fleet_q_is_leader')).toBe(1);
    expect(sample(text, 'fleet_q_heartbeat_age_seconds')).toBe(7);
    stopB();
    text = await metrics.registry.metrics();
    expect(sample(text, 'fleet_q_is_leader')).toBe(0);
    expect(sample(text, 'fleet_q_heartbeat_age_seconds')).toBe(0.5);
    stopA();
    expect(sample(await metrics.registry.metrics(), 'fleet_q_heartbeat_age_seconds')).toBeNaN();
  });
});
