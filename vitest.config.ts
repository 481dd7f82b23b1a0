import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL for the whole run: FLEET_Q_TEST_DATABASE_URL, or a throw-away embedded server.
    // MySQL: FLEET_Q_TEST_MYSQL_URL only; the run ends saying so when the MySQL tests did not run.
    globalSetup: ['test/support/postgres.global-setup.ts', 'test/support/mysql.global-setup.ts', 'test/support/snowflake.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.tmp/vitest-report.json' },
  },
});
