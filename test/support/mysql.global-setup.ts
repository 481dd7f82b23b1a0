/**
 * Vitest global setup for MySQL: there is no throw-away MySQL server, so when FLEET_Q_TEST_MYSQL_URL
 * is unset or its server does not answer, the run ends with one plain line saying that the MySQL
 * tests did not run and how to run them (each file also says so where it skips). Owns that message
 * only; databases per test come from `mysql.ts`.
 */
import { testMysqlUnavailableReason } from './mysql.js';

export default async function setup(): Promise<() => Promise<void>> {
  const reason = await testMysqlUnavailableReason();
  return async () => {
    if (reason === undefined) return;
    const required = (process.env['FLEET_Q_REQUIRE_STORES'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .includes('mysql');
    process.stderr.write(
      `\nMySQL / MariaDB: the MySQL tests did ${required ? 'not pass (FLEET_Q_REQUIRE_STORES requires them)' : 'NOT run'}: ${reason}.\n` +
        'Set FLEET_Q_TEST_MYSQL_URL=mysql://user@host:3306/database to run them.\n',
    );
  };
}
