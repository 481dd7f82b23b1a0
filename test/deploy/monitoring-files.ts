/**
 * The monitoring files in deploy/ as data: the alert rule file, its promtool test file, the Grafana
 * dashboard, and the metric names their queries reference. Owns reading and name extraction only;
 * assertions live in the test files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ALERTS_FILE = join(ROOT, 'deploy/prometheus/fleet-q-alerts.yml');
export const ALERTS_TEST_FILE = join(ROOT, 'deploy/prometheus/fleet-q-alerts.test.yml');
export const DASHBOARD_FILE = join(ROOT, 'deploy/grafana/fleet-q-dashboard.json');

/** One alerting rule as the rule file holds it. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** The `groups` of the alert rule file. */
export function alertGroups(): { name: string; rules: AlertRule[] }[] {
  return (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }).groups;
}

/** Every PromQL expression of the dashboard's panels. */
export function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

/** The `fleet_q_*` metric families an expression reads (`_bucket`, `_sum`, `_count` of a histogram name its family). */
export function metricFamilies(expr: string): string[] {
  const names = expr.match(/\bfleet_q_[a-z0-9_]+/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')))];
}

/** Every family referenced by the alert rules and the dashboard, with where. */
export function referencedFamilies(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const note = (expr: string, where: string): void => {
    for (const family of metricFamilies(expr)) found.set(family, [...(found.get(family) ?? []), where]);
  };
  for (const group of alertGroups()) for (const rule of group.rules) note(rule.expr, `alert ${rule.alert}`);
  for (const expr of dashboardExpressions()) note(expr, 'dashboard');
  return found;
}
