/**
 * MySQL identifiers of one queue: the prefixed tables and the migration lock name, validated (DESIGN
 * §2 identifier rule) and quoted once, so no statement ever concatenates a raw configuration value.
 * The database itself is the one named in the URL. Owns naming only: no SQL statements.
 */
import { ValidationError } from '../../errors.js';
import { identifierProblems, tableNames } from '../schema.js';

/** Quoted table names and the other per-queue constants the statements embed. */
export interface MysqlNames {
  /** The table prefix, unquoted (may be empty). */
  readonly prefix: string;
  readonly stepTracker: string;
  readonly podHealth: string;
  readonly stepEvents: string;
  readonly schemaVersion: string;
  readonly stepDependencies: string;
  /** The schema_version table unquoted, for the information_schema look-up. */
  readonly schemaVersionTable: string;
  /** An index name (quoted) for a short suffix. */
  index(suffix: string): string;
  /**
   * The `GET_LOCK` name that serializes migrations of this prefix. MySQL lock names are server-wide
   * and at most 64 characters, so the database name is added by the caller (`DATABASE()`).
   */
  readonly migrationLockSuffix: string;
}

/** `` `name` ``, with embedded backticks doubled (validation already forbids them; quoting is the second guard). */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Validates the prefix (ValidationError listing the problem) and derives every name. */
export function mysqlNames(prefix = ''): MysqlNames {
  const problems = identifierProblems('FLEET_Q_TABLE_PREFIX', prefix, true);
  if (problems.length > 0) throw new ValidationError('invalid MySQL table prefix', problems);
  const tables = tableNames(prefix);
  return {
    prefix,
    stepTracker: quoteIdentifier(tables.stepTracker),
    podHealth: quoteIdentifier(tables.podHealth),
    stepEvents: quoteIdentifier(tables.stepEvents),
    schemaVersion: quoteIdentifier(tables.schemaVersion),
    stepDependencies: quoteIdentifier(tables.stepDependencies),
    schemaVersionTable: tables.schemaVersion,
    // MySQL index names are per table, up to 64 characters: prefix (≤ 49) + a short suffix fits.
    index: (suffix: string) => quoteIdentifier(`${prefix}${suffix}`),
    migrationLockSuffix: `:${prefix}`,
  };
}
