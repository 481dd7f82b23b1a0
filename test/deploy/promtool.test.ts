/**
 * The alert rules are valid Prometheus rules (`promtool check rules`) and behave as their unit tests
 * say, one or more per alert (`promtool test rules`). promtool comes from Debian's `prometheus`
 * package, which CI installs (.ci/run). Where it is missing, the check is required when `CI` is set
 * (it fails), and elsewhere it is reported plainly as not run, as the conformance suite does for an
 * unreachable store.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTS_FILE, ALERTS_TEST_FILE, alertGroups } from './monitoring-files.js';

const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const available = probe.status === 0;
const required = (process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false';

function promtool(args: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: dirname(ALERTS_FILE), encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

it('has a unit test for every alert, in the test file promtool runs', () => {
  const alerts = alertGroups().flatMap((g) => g.rules.map((r) => r.alert));
  const tests = parse(readFileSync(ALERTS_TEST_FILE, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const tested = tests.tests.flatMap((t) => t.alert_rule_test);
  for (const alert of alerts) {
    const cases = tested.filter((c) => c.alertname === alert);
    expect(
      cases.some((c) => c.exp_alerts.length > 0),
      `${alert} has a case where it fires`,
    ).toBe(true);
    expect(
      cases.some((c) => c.exp_alerts.length === 0),
      `${alert} has a case where it stays quiet`,
    ).toBe(true);
  }
});

if (available) {
  describe(`promtool (${probe.stdout.split('\n')[0]})`, () => {
    it('accepts the rule file', () => {
      const run = promtool(['check', 'rules', ALERTS_FILE]);
      expect(run.status, run.output).toBe(0);
      expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
    });
    it('passes every alert unit test', () => {
      const run = promtool(['test', 'rules', ALERTS_TEST_FILE]);
      expect(run.status, run.output).toBe(0);
      expect(run.output).toContain('SUCCESS');
    });
  });
} else if (required) {
  it('promtool is installed (required when CI is set)', () => {
    throw new Error("promtool not found on PATH: install Debian's prometheus package (apt-get install -y prometheus), as .ci/run does");
  });
} else {
  console.warn('promtool checks not run: promtool is not on PATH (apt-get install -y prometheus); CI requires them');
  describe.skipIf(true)('promtool (not run: promtool is not on PATH)', () => {
    it('check rules and test rules', () => undefined);
  });
}
