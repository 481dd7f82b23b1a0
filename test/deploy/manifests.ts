/**
 * The Kubernetes manifests of deploy/kubernetes as kustomize would gather them (a kustomization's
 * `resources`, directories recursively), each object with the file it came from, and a validator per
 * kind from the `kubernetes-models` packages (the Kubernetes OpenAPI and Prometheus Operator CRD
 * schemas). Owns loading only; assertions live in test/deploy/kubernetes.test.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ROOT } from './monitoring-files.js';

/** One object of a manifest file. */
export interface ManifestObject {
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** A validator (`new Model(data).validate()` throws on a schema violation) by `apiVersion/kind`. */
export const VALIDATORS: Readonly<Record<string, (data: object) => void>> = {
  'v1/ConfigMap': (data) => new ConfigMap(data as never).validate(),
  'v1/Secret': (data) => new Secret(data as never).validate(),
  'v1/Service': (data) => new Service(data as never).validate(),
  'apps/v1/Deployment': (data) => new Deployment(data as never).validate(),
  'policy/v1/PodDisruptionBudget': (data) => new PodDisruptionBudget(data as never).validate(),
  'monitoring.coreos.com/v1/ServiceMonitor': (data) => new ServiceMonitor(data as never).validate(),
  'monitoring.coreos.com/v1/PrometheusRule': (data) => new PrometheusRule(data as never).validate(),
};

/** Every YAML document of a file, parsed; a YAML error throws with the file name. */
export function yamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** The objects `kubectl apply -k <dir>` would apply (before kustomize's own transformations), in order. */
export function kustomizeObjects(dir: string): ManifestObject[] {
  const kustomization = yamlDocuments(join(dir, 'kustomization.yaml'))[0] as { resources?: string[] };
  const objects: ManifestObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) {
      objects.push(...kustomizeObjects(path));
      continue;
    }
    for (const doc of yamlDocuments(path)) objects.push({ ...(doc as object), file: relative(ROOT, path) } as ManifestObject);
  }
  return objects;
}

/** The one object of `kind` (and `name`, when given); throws when there is not exactly one. */
export function only(objects: readonly ManifestObject[], kind: string, name?: string): ManifestObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  return found[0]!;
}

/** The directory of `file` relative to the repository root. */
export function dirOf(file: string): string {
  return dirname(join(ROOT, file));
}
