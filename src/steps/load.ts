/**
 * Loads user step types from the module named by FLEET_Q_HANDLERS (its named export `steps`) and
 * joins them with the built-ins; also hands over its optional `schedules` export. Refuses, with every problem listed, anything that is not a list of
 * `defineStep` results or that defines a type twice. Must not validate submissions (submission.ts)
 * or run handlers (the pod does).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type FleetErrorItem } from '../errors.js';
import { STEP_TYPE_PATTERN, type AnyStepDefinition, type StepDefinition } from './registry.js';
import { BUILTIN_STEPS } from './builtin.js';

/** Imports `modulePath` (relative to the working directory) and returns its `steps` export. */
export async function loadHandlerModule(modulePath: string): Promise<StepDefinition[]> {
  let loaded: { steps?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { steps?: unknown };
  } catch (err) {
    throw new ConfigError([{ loc: 'FLEET_Q_HANDLERS', msg: `cannot import ${modulePath}: ${(err as Error).message}` }]);
  }
  const steps = loaded.steps;
  if (!Array.isArray(steps)) {
    throw new ConfigError([{ loc: 'FLEET_Q_HANDLERS', msg: `${modulePath} must have a named export 'steps' (an array of defineStep(...) results)` }]);
  }
  return steps as StepDefinition[];
}

/**
 * The `schedules` export of `modulePath` (the FLEET_Q_HANDLERS module), unchecked (schedules/definition.ts
 * checks it against the registry); none when the module has no such export. The module is imported
 * once per process, so this shares the import of `loadHandlerModule`.
 */
export async function loadHandlerSchedules(modulePath: string): Promise<unknown[]> {
  let loaded: { schedules?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { schedules?: unknown };
  } catch (err) {
    throw new ConfigError([{ loc: 'FLEET_Q_HANDLERS', msg: `cannot import ${modulePath}: ${(err as Error).message}` }]);
  }
  if (loaded.schedules === undefined) return [];
  if (!Array.isArray(loaded.schedules)) {
    throw new ConfigError([{ loc: 'FLEET_Q_HANDLERS', msg: `${modulePath}: the export 'schedules' must be an array of schedule declarations` }]);
  }
  return loaded.schedules as unknown[];
}

/** Built-ins plus `extra`, checked: valid shapes, no type defined twice. */
export function withBuiltinSteps(extra: readonly AnyStepDefinition[]): StepDefinition[] {
  const all = [...BUILTIN_STEPS, ...extra] as StepDefinition[];
  const problems: FleetErrorItem[] = [];
  const seen = new Set<string>();
  all.forEach((d, i) => {
    const loc = `steps[${i - BUILTIN_STEPS.length}]`;
    if (d === null || typeof d !== 'object' || typeof d.handler !== 'function' || typeof d.args?.safeParse !== 'function') {
      problems.push({ loc, msg: 'is not a defineStep(...) result' });
      return;
    }
    if (!STEP_TYPE_PATTERN.test(d.type)) problems.push({ loc, msg: `type '${d.type}' must match ${STEP_TYPE_PATTERN.source}` });
    if (seen.has(d.type)) problems.push({ loc, msg: `type '${d.type}' is defined twice (built-ins: echo, sleep, fail)` });
    seen.add(d.type);
  });
  if (problems.length > 0) throw new ConfigError(problems.map((p) => ({ ...p, loc: `FLEET_Q_HANDLERS ${p.loc}` })));
  return all;
}
