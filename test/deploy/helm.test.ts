/**
 * deploy/helm/fleet-q, as far as it can be checked without `helm` (not installable here, so no
 * template is rendered): values.yaml satisfies values.schema.json (ajv) and the schema refuses bad
 * values; every `.Values.…` path a template reads exists in values.yaml; the settings are variables
 * the configuration knows and accepts, credentials only in `secrets`; the defaults agree with the
 * plain manifests of deploy/kubernetes; the grace periods nest; the chart's alert file is the one
 * promtool tested; and the chart's appVersion is the package version.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { CONFIG_VARIABLES } from '../../src/config/variables.js';
import { kustomizeObjects, only } from './manifests.js';
import { ALERTS_FILE, ROOT } from './monitoring-files.js';

const CHART = join(ROOT, 'deploy/helm/fleet-q');
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown> & {
  config: Record<string, string>;
  secrets: Record<string, string>;
  terminationGracePeriodSeconds: number;
};
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

/** Chart values as a test edits them: any path, any value (the schema is what judges them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- deliberately untyped, so a test can write what the schema must refuse
type AnyValues = Record<string, any>;

/** `values` with `change` applied to a deep copy. */
function variant(change: (copy: AnyValues) => void): Record<string, unknown> {
  const copy = structuredClone(values) as AnyValues;
  change(copy);
  return copy;
}

/** The value at a dotted path of values.yaml, or undefined. */
function at(path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), values);
}

describe('deploy/helm/fleet-q', () => {
  it('values.yaml satisfies values.schema.json', () => {
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the schema refuses wrong types, unknown keys and non-FLEET_Q settings', () => {
    const bad = [
      variant((v) => (v['replicaCount'] = 'two')),
      variant((v) => (v['replicas'] = 3)),
      variant((v) => (v['config']['LOG_LEVEL'] = 'debug')),
      variant((v) => (v['config']['FLEET_Q_API_PORT'] = 8000)),
      variant((v) => delete v['config']['FLEET_Q_SHUTDOWN_GRACE_SECONDS']),
      variant((v) => (v['serviceMonitor']['interval'] = '30 seconds')),
      variant((v) => (v['image']['pullPolicy'] = 'Sometimes')),
    ];
    for (const candidate of bad) expect(validate(candidate), JSON.stringify(candidate)).toBe(false);
  });

  it('every .Values path a template reads is in values.yaml', () => {
    const templates = readdirSync(join(CHART, 'templates')).map((file) => readFileSync(join(CHART, 'templates', file), 'utf8'));
    const paths = new Set(templates.flatMap((text) => [...text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]!)));
    expect(paths.size).toBeGreaterThan(10);
    expect([...paths].filter((path) => at(path) === undefined)).toEqual([]);
  });

  it('sets only variables the configuration knows, with values the pod accepts; credentials only in secrets', () => {
    const known = new Set(CONFIG_VARIABLES.map((v) => v.variable));
    const secret = new Set(CONFIG_VARIABLES.filter((v) => v.secret !== undefined).map((v) => v.variable));
    const names = [...Object.keys(values.config), ...Object.keys(values.secrets)];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
    expect(Object.keys(values.config).filter((name) => secret.has(name))).toEqual([]);
    expect(() => loadConfig({ ...values.config, ...values.secrets, FLEET_Q_POD_ID: 'fleet-q-7c9d8b6f5-x2x9k' })).not.toThrow();
  });

  it('gives the drain its grace and matches the plain manifests', () => {
    const config = loadConfig({ ...values.config, ...values.secrets });
    expect(values.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(config.shutdownGraceSeconds + 5);
    const objects = kustomizeObjects(join(ROOT, 'deploy/kubernetes'));
    expect(values.config).toEqual(only(objects, 'ConfigMap')['data']);
    expect(values.secrets).toEqual(only(objects, 'Secret')['stringData']);
    const deployment = only(objects, 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { terminationGracePeriodSeconds: number; containers: { resources: unknown }[] } } };
    };
    expect(values['replicaCount']).toBe(deployment.spec.replicas);
    expect(values.terminationGracePeriodSeconds).toBe(deployment.spec.template.spec.terminationGracePeriodSeconds);
    expect(values['resources']).toEqual(deployment.spec.template.spec.containers[0]!.resources);
  });

  it('carries the alert rules promtool tested, and the package version', () => {
    expect(readFileSync(join(CHART, 'files/fleet-q-alerts.yml'), 'utf8')).toBe(readFileSync(ALERTS_FILE, 'utf8'));
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });
});
