import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine, type AnyStateMachine } from 'xstate';
import { machines } from '../../machines/index.js';
import {
  renderVisualizations,
  toMermaid,
  toStatelyJson,
  transitionsOf,
  EXAMPLE_MACHINES,
  VISUALIZATIONS_DIR,
  writeVisualizations,
} from '../../visualizations/generate.js';

const REGENERATE = 'UPDATE_VISUALIZATIONS=1 npx vitest run test/unit/visualizations.test.ts';

if (process.env['UPDATE_VISUALIZATIONS'] === '1') writeVisualizations();

const signature = (m: AnyStateMachine) => transitionsOf(m).map((t) => `${t.from.id} -> ${t.to.id} : ${t.label}`);

describe('visualizations', () => {
  it('committed diagrams match the machines', () => {
    const rendered = renderVisualizations();
    expect(rendered.size).toBe(2 * (Object.keys(machines).length + Object.keys(EXAMPLE_MACHINES).length));
    for (const [name, content] of rendered) {
      const path = join(VISUALIZATIONS_DIR, name);
      expect(existsSync(path), `visualizations/${name} is missing; regenerate with: ${REGENERATE}`).toBe(true);
      expect(readFileSync(path, 'utf8'), `visualizations/${name} is out of date; regenerate with: ${REGENERATE}`).toBe(content);
    }
    const generated = readdirSync(VISUALIZATIONS_DIR).filter((f) => f.endsWith('.mmd') || f.endsWith('.stately.json'));
    expect(generated.sort(), 'a diagram without a machine: delete it').toEqual([...rendered.keys()].sort());
  });

  it.each(Object.entries({ ...machines, ...EXAMPLE_MACHINES }))('%s: the Stately JSON is plain data that rebuilds the same transitions', (_name, machine) => {
    const config: unknown = JSON.parse(toStatelyJson(machine));
    // JSON turns a function inside an array (an inline action or guard) into null: the config must name them.
    const nullsInArrays = (v: unknown): number =>
      Array.isArray(v)
        ? v.filter((x) => x === null).length + v.reduce((n: number, x) => n + nullsInArrays(x), 0)
        : v && typeof v === 'object'
          ? Object.values(v).reduce((n: number, x) => n + nullsInArrays(x), 0)
          : 0;
    expect(nullsInArrays(config)).toBe(0);
    const rebuilt = createMachine(config as Parameters<typeof createMachine>[0]);
    expect(signature(rebuilt)).toEqual(signature(machine));
  });

  it.each(Object.entries({ ...machines, ...EXAMPLE_MACHINES }))('%s: the Mermaid diagram declares every state it draws', (_name, machine) => {
    const mmd = toMermaid(machine);
    expect(mmd.startsWith('stateDiagram-v2\n')).toBe(true);
    const declared = new Set([...mmd.matchAll(/^\s*state "[^"]+" as (\w+)$/gm)].map((m) => m[1]));
    const drawn = [...mmd.matchAll(/^\s*(\w+) --> (\w+)/gm)].flatMap((m) => [m[1], m[2]]);
    for (const id of drawn) expect(declared, `${id} is not declared`).toContain(id);
    // Mermaid allows one ':' per transition line (the label separator).
    for (const line of mmd.split('\n').filter((l) => l.includes('-->'))) expect(line.split(':').length).toBeLessThanOrEqual(2);
    expect(drawn.length).toBeGreaterThan(0);
  });

  it('labels say which actor finished and which delay elapsed', () => {
    const mmd = toMermaid(machines.heartbeat);
    expect(mmd).toContain('heartbeat_trusted_beating --> heartbeat_trusted : done heartbeat [beatConfirmed]');
    expect(mmd).toContain('heartbeat_trusted --> heartbeat_lost : after fenceAfter');
    expect(mmd).toContain('invokes heartbeat\n');
    expect(toMermaid(machines.supervisor)).toContain('stays on slot.freed, work.available, drain');
  });
});
