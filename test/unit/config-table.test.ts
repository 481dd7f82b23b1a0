/**
 * The README configuration table is exactly what the variable table renders, the schema, the
 * `FleetConfig` type and the key list all come from that one table, and every documented default is
 * the value loadConfig really uses.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig, type FleetConfig } from '../../src/config/config.js';
import { fleetConfigFields } from '../../src/config/schema.js';
import { VARIABLES, type ConfigKey } from '../../src/config/variables.js';
import { CONFIG_TABLE_END, CONFIG_TABLE_START, renderConfigTable } from '../../src/config/table.js';

const README = new URL('../../README.md', import.meta.url);

/** The text between the markers, or undefined when they are missing or out of order. */
function readmeTable(): string | undefined {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(CONFIG_TABLE_START);
  const end = text.indexOf(CONFIG_TABLE_END);
  if (start === -1 || end < start) return undefined;
  return text.slice(start + CONFIG_TABLE_START.length, end).replace(/^\n/, '');
}

describe('README configuration table', () => {
  it('is the rendered catalogue, between the markers', () => {
    const rendered = renderConfigTable();
    // On failure, paste this between the markers in README.md.
    expect(readmeTable(), `README.md must hold, between ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END}:\n${rendered}`).toBe(rendered);
  });

  it('has one row per variable', () => {
    const rows = renderConfigTable().trimEnd().split('\n').slice(2);
    expect(rows.map((row) => /^\| `(FLEET_Q_[A-Z_]+)` \|/.exec(row)?.[1])).toEqual(CONFIG_VARIABLES.map((v) => v.variable));
  });
});

describe('catalogue and schema', () => {
  it('every schema key has a descriptor and every descriptor a schema key', () => {
    const schemaKeys = Object.keys(fleetConfigFields.shape).sort();
    const catalogueKeys = CONFIG_VARIABLES.map((v) => v.key).sort();
    expect(catalogueKeys).toEqual(schemaKeys);
  });

  it('the schema, the key list and the FleetConfig type all come from the one table', () => {
    expect(Object.keys(fleetConfigFields.shape)).toEqual(Object.keys(VARIABLES));
    expect(CONFIG_VARIABLES.map((v) => v.key)).toEqual(Object.keys(VARIABLES));
    expect(Object.keys(loadConfig({}))).toEqual(Object.keys(VARIABLES));
    expectTypeOf<keyof FleetConfig>().toEqualTypeOf<ConfigKey>();
    expectTypeOf<FleetConfig['databaseUrl']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<FleetConfig['maxParallelism']>().toEqualTypeOf<number>();
    expectTypeOf<FleetConfig['databaseSslRejectUnauthorized']>().toEqualTypeOf<boolean>();
    expectTypeOf<FleetConfig['storageMode']>().toEqualTypeOf<'sqlite' | 'postgres' | 'snowflake' | 'mysql'>();
    expectTypeOf<FleetConfig['heartbeatLatencyBudgetSeconds']>().toEqualTypeOf<number>();
  });

  it('each variable is FLEET_Q_ + its key in upper snake case, listed once', () => {
    for (const { variable, key } of CONFIG_VARIABLES) {
      expect(variable).toBe(`FLEET_Q_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`);
    }
    expect(new Set(CONFIG_VARIABLES.map((v) => v.variable)).size).toBe(CONFIG_VARIABLES.length);
  });

  it('every documented literal default is the default loadConfig uses', () => {
    const defaults = loadConfig({});
    const literals = CONFIG_VARIABLES.filter((v) => /^[\w./:-]+$/.test(v.default));
    expect(literals.length).toBeGreaterThanOrEqual(20);
    for (const { variable, key, default: documented } of literals) {
      expect(loadConfig({ [variable]: documented })[key], variable).toEqual(defaults[key]);
    }
  });

  it('variables documented without a default are unset (or empty) by default', () => {
    const defaults = loadConfig({});
    for (const { key } of CONFIG_VARIABLES.filter((v) => v.default === '')) {
      expect([undefined, ''], key).toContain(defaults[key]);
    }
  });
});
