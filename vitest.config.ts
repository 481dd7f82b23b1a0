import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/longest-first.sequencer.js';

// Every test file but the end-to-end ones runs on all cores; the end-to-end files then run one at a
// time. They start real pod processes whose heartbeats, dead-pod thresholds and recovery bounds are
// real time, and a second file beside them would take the CPU those bounds assume; the rest use
// their own schemas, databases and files, so they may share the machine. (The e2e harness also
// takes a lock per file, test/e2e/harness.ts, for runs that give the e2e files more workers.)
const ISOLATED = ['test/e2e/**/*.test.ts'];
const TIMEOUTS = { testTimeout: 30_000, hookTimeout: 60_000 } as const;

export default defineConfig({
  test: {
    // One PostgreSQL for the whole run: FLEET_Q_TEST_DATABASE_URL, or a throw-away embedded server.
    // MySQL: FLEET_Q_TEST_MYSQL_URL only; the run ends saying so when the MySQL tests did not run.
    // Set here only, so each server starts once and both groups below are given its address.
    globalSetup: ['test/support/postgres.global-setup.ts', 'test/support/mysql.global-setup.ts', 'test/support/snowflake.global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-report.json' },
    projects: [
      {
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ISOLATED],
          ...TIMEOUTS,
          maxWorkers: Math.max(2, availableParallelism()),
          sequence: { groupOrder: 0, sequencer: LongestFirstSequencer },
        },
      },
      {
        test: { name: 'isolated', include: ISOLATED, ...TIMEOUTS, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
