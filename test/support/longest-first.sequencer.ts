/**
 * Test-file order for the files that share the machine (vitest.config.ts): the few files known to
 * run far longer than the rest start first, so none of them is left running alone at the end while
 * the other workers wait. Vitest's own order (longest first from its results cache, unknown files
 * first) is kept for everything else; a clean checkout has no cache, which is why the list exists.
 * Owns the order only: which files share the machine is the config's choice.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Measured on CI's machine: the store conformance suite (~150 s, most of it on the Snowflake emulator) and the model-based property tests (~25 s each). */
const KNOWN_LONG = ['test/conformance/conformance.test.ts', 'test/property/store.model.test.ts', 'test/property/http-fuzz.test.ts'];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const at = KNOWN_LONG.indexOf(relative(this.ctx.config.root, spec.moduleId).split('\\').join('/'));
      return at === -1 ? KNOWN_LONG.length : at;
    };
    // Array.prototype.sort is stable: ties keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
