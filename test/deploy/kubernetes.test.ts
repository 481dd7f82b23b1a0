/**
 * deploy/kubernetes: every object is valid against its Kubernetes (or Prometheus Operator) schema,
 * and the wiring holds: every FLEET_Q_* variable the manifests set is one the configuration knows
 * and the settings pass the pod's own validation; probes hit /health on the port the pod listens on,
 * on every interface; the grace periods nest (drain grace < termination grace); selectors select the
 * pod template; the ServiceMonitor scrapes a port the Service has; and the PrometheusRule carries
 * exactly the rule groups promtool checked (deploy/prometheus/fleet-q-alerts.yml).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { CONFIG_VARIABLES } from '../../src/config/variables.js';
import { kustomizeObjects, only, VALIDATORS, yamlDocuments, type ManifestObject } from './manifests.js';
import { alertGroups, ROOT } from './monitoring-files.js';

const BASE = join(ROOT, 'deploy/kubernetes');
const MONITORING = join(BASE, 'monitoring');
const KNOWN = new Set(CONFIG_VARIABLES.map((v) => v.variable));

interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number };
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
}
interface Container {
  readonly name: string;
  readonly ports?: { readonly name?: string; readonly containerPort: number }[];
  readonly env?: { readonly name: string }[];
  readonly envFrom?: { readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly resources?: { readonly requests?: Record<string, string> };
}
interface DeploymentSpec {
  readonly selector: { readonly matchLabels: Record<string, string> };
  readonly template: {
    readonly metadata: { readonly labels: Record<string, string> };
    readonly spec: { readonly terminationGracePeriodSeconds?: number; readonly containers: Container[] };
  };
}

const objects = kustomizeObjects(MONITORING);
const deployment = only(objects, 'Deployment') as ManifestObject & { spec: DeploymentSpec };
const container = deployment.spec.template.spec.containers[0]!;
const configMap = only(objects, 'ConfigMap') as ManifestObject & { data: Record<string, string> };
const secret = only(objects, 'Secret') as ManifestObject & { stringData: Record<string, string> };

/** The environment a pod of the Deployment starts with (ConfigMap and Secret through envFrom, plus env). */
function podEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) Object.assign(env, only(objects, 'ConfigMap', source.configMapRef.name).data as Record<string, string>);
    if (source.secretRef !== undefined) Object.assign(env, only(objects, 'Secret', source.secretRef.name).stringData as Record<string, string>);
  }
  // Values from the downward API: a typical pod name stands in.
  for (const { name } of container.env ?? []) env[name] ??= 'fleet-q-7c9d8b6f5-x2x9k';
  return env;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

describe('deploy/kubernetes', () => {
  it('lists only files that exist, and the base holds everything but the monitoring objects', () => {
    const base = kustomizeObjects(BASE)
      .map((o) => o.kind)
      .sort();
    expect(base).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
    expect(objects.map((o) => o.kind).sort()).toEqual([...base, 'PrometheusRule', 'ServiceMonitor'].sort());
    for (const file of new Set(objects.map((o) => o.file))) expect(existsSync(join(ROOT, file)), file).toBe(true);
  });

  it('every object is valid against the schema of its kind', () => {
    for (const object of objects) {
      const { file, ...data } = object;
      const validate = VALIDATORS[`${object.apiVersion}/${object.kind}`];
      expect(validate, `${file}: no validator for ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => validate!(data), `${file}: ${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check catches a broken object', () => {
    const { file: _file, ...data } = deployment;
    const broken = structuredClone(data) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = 'two';
    expect(() => VALIDATORS['apps/v1/Deployment']!(broken)).toThrow();
  });

  it('sets only FLEET_Q_* variables the configuration knows, with values the pod accepts', () => {
    const env = podEnvironment();
    const names = Object.keys(env);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((name) => !KNOWN.has(name))).toEqual([]);
    const config = loadConfig(env);
    expect(config.storageMode).toBe('postgres');
    expect(config.apiHost).toBe('0.0.0.0');
  });

  it('probes /health on the port the pod listens on; requests resources', () => {
    const config = loadConfig(podEnvironment());
    const port = container.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(config.apiPort);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe?.httpGet?.path).toBe('/health');
      expect([port?.name, port?.containerPort]).toContain(probe?.httpGet?.port);
    }
    expect(container.resources?.requests?.['cpu']).toBeDefined();
    expect(container.resources?.requests?.['memory']).toBeDefined();
  });

  it('gives the drain its grace: termination grace and the liveness failure window exceed FLEET_Q_SHUTDOWN_GRACE_SECONDS', () => {
    const config = loadConfig(podEnvironment());
    const termination = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    // A few seconds to release unfinished steps and mark the pod down after the grace.
    expect(termination).toBeGreaterThanOrEqual(config.shutdownGraceSeconds + 5);
    const live = container.livenessProbe!;
    expect((live.periodSeconds ?? 10) * (live.failureThreshold ?? 3)).toBeGreaterThan(config.shutdownGraceSeconds);
  });

  it('selectors select the pod template; the ServiceMonitor scrapes a port of the Service', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
    const service = only(objects, 'Service') as ManifestObject & {
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
    };
    expect(selects(service.spec.selector, labels)).toBe(true);
    expect(service.spec.ports.map((p) => p.targetPort)).toContain('http');
    const pdb = only(objects, 'PodDisruptionBudget') as ManifestObject & { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
    const monitor = only(objects, 'ServiceMonitor') as ManifestObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
    expect(monitor.spec.endpoints.map((e) => [e.port, e.path])).toEqual([['http', '/metrics']]);
    expect(service.spec.ports.map((p) => p.name)).toContain('http');
  });

  it('the PrometheusRule holds exactly the rule groups promtool checked', () => {
    const rule = only(objects, 'PrometheusRule') as ManifestObject & { spec: { groups: unknown } };
    expect(rule.spec.groups).toEqual(alertGroups());
  });

  it('keeps the Secret for credentials and the ConfigMap free of them', () => {
    const secretNames = new Set(CONFIG_VARIABLES.filter((v) => v.secret !== undefined).map((v) => v.variable));
    expect(Object.keys(configMap.data).filter((name) => secretNames.has(name))).toEqual([]);
    expect(Object.keys(secret.stringData).every((name) => secretNames.has(name))).toBe(true);
    expect(yamlDocuments(join(BASE, 'kustomization.yaml'))).toHaveLength(1);
  });
});
