import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, STEP_EVENTS, STEP_OUTCOMES, stepOutcomeEvent, type ClaimedStep, type PruneReport, type RecoveryReport } from '../../../machines/index.js';
import type { RecoverySummary, RetentionPruneResult, StepRow } from '../../../src/store/store.js';

// Compile-time checks (tsc runs over test/): the machines' mirrors of store types stay identical.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const recoveryMirrorsStore: Equal<RecoveryReport, RecoverySummary> = true;
const pruneMirrorsStore: Equal<PruneReport, RetentionPruneResult> = true;
const claimedFromRow = (row: StepRow): ClaimedStep => row;

const machinesDir = join(import.meta.dirname, '../../../machines');
const sources = readdirSync(machinesDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(join(machinesDir, f), 'utf8') }));

describe('machines contract', () => {
  it('mirrors of store types compile', () => {
    expect([recoveryMirrorsStore, pruneMirrorsStore, typeof claimedFromRow]).toEqual([true, true, 'function']);
  });

  it('event names are unique, dotted lower case, and cover every step outcome', () => {
    expect(new Set(EVENT_NAMES).size).toBe(EVENT_NAMES.length);
    for (const name of EVENT_NAMES) expect(name).toMatch(/^[a-z_]+(\.[a-z_]+)*$/);
    expect(STEP_OUTCOMES.map(stepOutcomeEvent)).toEqual(STEP_OUTCOMES.map((o) => `step.${o}`));
    for (const outcome of STEP_OUTCOMES) expect(Object.values(STEP_EVENTS)).toContain(stepOutcomeEvent(outcome));
  });

  it('machines/ imports only xstate and siblings, and reads no clock, randomness or environment', () => {
    expect(sources.length).toBeGreaterThanOrEqual(9);
    for (const { file, text } of sources) {
      const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
      for (const spec of specifiers) expect(spec, `${file} imports ${spec}`).toMatch(/^(xstate|\.\/[\w.-]+\.js)$/);
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/Date\.now|new Date|Math\.random|setTimeout|setInterval|process\.|performance\./);
      expect(text, file).not.toMatch(/export \*/);
      expect(text.startsWith('/**'), `${file} starts with a header comment`).toBe(true);
    }
  });
});
