/**
 * MySQL / MariaDB for tests: where to connect (`FLEET_Q_TEST_MYSQL_URL`, e.g.
 * `mysql://root@127.0.0.1:3306/test`) and a database of its own for each test file or case. Unlike
 * PostgreSQL there is no throw-away server: without the variable the MySQL tests report that they
 * did not run (or fail, when FLEET_Q_REQUIRE_STORES names mysql). Owns test connections only: no
 * assertions, nothing from the store's driver.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/** `FLEET_Q_TEST_MYSQL_URL`, or undefined when unset. */
export function testMysqlUrl(): string | undefined {
  const fromEnv = process.env['FLEET_Q_TEST_MYSQL_URL'];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/** Why `testMysqlUrl()` is undefined, or why the server does not answer; undefined when it does. */
export async function testMysqlUnavailableReason(): Promise<string | undefined> {
  const url = testMysqlUrl();
  if (url === undefined) return 'FLEET_Q_TEST_MYSQL_URL is unset (e.g. mysql://root@127.0.0.1:3306/test)';
  try {
    await withConnection(url, (c) => c.query('SELECT 1'));
    return undefined;
  } catch (err) {
    return `the MySQL server at FLEET_Q_TEST_MYSQL_URL does not answer: ${(err as Error).message}`;
  }
}

/** The URL, or a thrown error saying why there is none: for tests that are about MySQL itself. */
export function requireTestMysqlUrl(): string {
  const url = testMysqlUrl();
  if (url === undefined) throw new Error('no MySQL for this test: FLEET_Q_TEST_MYSQL_URL is unset');
  return url;
}

/** Runs `use` on a short-lived connection to `url`. */
export async function withConnection<T>(url: string, use: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 5_000 });
  connection.on('error', () => undefined);
  try {
    return await use(connection);
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/**
 * A new, empty database with a random name on the server of `url`, so test files (and cases)
 * running at once never share tables; `url` points at it, `drop()` removes it.
 */
export async function freshDatabase(url: string): Promise<{ database: string; url: string; drop(): Promise<void> }> {
  const database = `fq_test_${randomBytes(6).toString('hex')}`;
  await withConnection(url, (c) => c.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  const target = new URL(url);
  target.pathname = `/${database}`;
  return {
    database,
    url: target.toString(),
    drop: () => withConnection(url, async (c) => void (await c.query(`DROP DATABASE IF EXISTS \`${database}\``))),
  };
}

/**
 * Whether the MySQL tests of a file run here: yes when the server answers; otherwise they are
 * reported as not run, with the reason, unless FLEET_Q_REQUIRE_STORES names mysql, in which case
 * they run and fail on the missing server (a required store must never pass by skipping).
 */
export async function mysqlTestsRun(file: string): Promise<boolean> {
  const reason = await testMysqlUnavailableReason();
  if (reason === undefined) return true;
  const required = (process.env['FLEET_Q_REQUIRE_STORES'] ?? '').split(',').map((s) => s.trim());
  if (required.includes('mysql')) return true;
  console.warn(`${file}: the MySQL tests did not run: ${reason}`);
  return false;
}
