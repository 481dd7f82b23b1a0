/**
 * Heartbeat latency is exported as a histogram, and a beat that uses more than half of the margin the
 * liveness rule leaves (fence window − interval) is logged at warn, naming the settings, once a minute.
 */
import { describe, expect, it } from 'vitest';
import { createMetrics, registerPodMetrics } from '../../src/metrics.js';
import { HeartbeatLatencyWatch } from '../../src/pod/heartbeat-latency.js';

// 1 s / 3 s / budget 1 s: window 2 s, margin 1 s, warn above 0.5 s.
const settings = { heartbeatIntervalSeconds: 1, deadPodThresholdSeconds: 3, heartbeatLatencyBudgetSeconds: 1 };

function setUp() {
  const metrics = createMetrics();
  const pod = registerPodMetrics(metrics);
  const lines: { level: string; event: string; fields: Record<string, unknown>; message: string }[] = [];
  let now = 0;
  const watch = new HeartbeatLatencyWatch(
    { event: (level, event, fields, message) => void lines.push({ level, event, fields, message }) },
    pod.heartbeatLatency,
    settings,
    () => now,
  );
  return { metrics, lines, watch, advance: (ms: number) => void (now += ms) };
}

describe('HeartbeatLatencyWatch', () => {
  it('exports every confirmed beat as fleet_q_heartbeat_latency_seconds', async () => {
    const { metrics, watch } = setUp();
    watch.observe('pod-a-00000001', 3);
    watch.observe('pod-a-00000001', 40);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fleet_q_heartbeat_latency_seconds_count 2');
    expect(text).toMatch(/fleet_q_heartbeat_latency_seconds_sum 0\.043/);
    expect(text).toContain('fleet_q_heartbeat_latency_seconds_bucket{le="0.005"} 1');
  });

  it('warns above half the margin, naming the settings, at most once a minute', () => {
    const { lines, watch, advance } = setUp();
    expect(watch.warnAboveMs).toBe(500);
    watch.observe('pod-a-00000001', 500);
    expect(lines).toEqual([]);
    watch.observe('pod-a-00000001', 620);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      event: 'heartbeat.slow',
      fields: {
        pod_id: 'pod-a-00000001',
        latency_ms: 620,
        margin_ms: 1000,
        fence_window_ms: 2000,
        FLEET_Q_HEARTBEAT_INTERVAL_SECONDS: 1,
        FLEET_Q_DEAD_POD_THRESHOLD_SECONDS: 3,
        FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS: 1,
      },
    });
    expect(lines[0]!.message).toContain('raise FLEET_Q_DEAD_POD_THRESHOLD_SECONDS (3) or lower FLEET_Q_HEARTBEAT_INTERVAL_SECONDS (1)');
    expect(lines[0]!.message).not.toContain('more than FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS');

    advance(59_999);
    watch.observe('pod-a-00000001', 700);
    expect(lines).toHaveLength(1);
    advance(1);
    watch.observe('pod-a-00000001', 1_200);
    expect(lines).toHaveLength(2);
    expect(lines[1]!.fields['slow_beats']).toBe(2);
    expect(lines[1]!.message).toContain('and more than FLEET_Q_HEARTBEAT_LATENCY_BUDGET_SECONDS (1)');
  });
});
