/**
 * PostgreSQL identifiers of one queue: the schema, the prefixed tables and indexes, the NOTIFY
 * channel and the migration lock key, validated (DESIGN §2 identifier rule) and quoted once, so no
 * statement ever concatenates a raw configuration value. Owns naming only: no SQL statements.
 */
import { ValidationError } from '../../errors.js';
import { identifierProblems, tableNames } from '../schema.js';

/** Quoted, schema-qualified names and the other per-queue constants the statements embed. */
export interface PgNames {
  /** The schema, unquoted (`public` by default). */
  readonly schema: string;
  /** The table prefix, unquoted (may be empty). */
  readonly prefix: string;
  readonly stepTracker: string;
  readonly podHealth: string;
  readonly stepEvents: string;
  readonly schemaVersion: string;
  readonly stepDependencies: string;
  /** `"schema"`, for CREATE SCHEMA. */
  readonly schemaQuoted: string;
  /** The NOTIFY channel, unquoted: `<prefix>fleet_q_work`. */
  readonly channel: string;
  /** The channel as an SQL string literal, for `pg_notify`. */
  readonly channelLiteral: string;
  /** The channel as a quoted identifier, for `LISTEN`. */
  readonly channelIdentifier: string;
  /** An index name (quoted, unqualified: indexes live in their table's schema) for a short suffix. */
  index(suffix: string): string;
  /** Text hashed into the advisory lock key that serializes migrations of this schema + prefix. */
  readonly migrationLockText: string;
}

/** `"name"`, with embedded quotes doubled (validation already forbids them; quoting is the second guard). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'`, with embedded single quotes doubled. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Validates the schema and prefix (ValidationError listing every problem) and derives every name. */
export function pgNames(schema = 'public', prefix = ''): PgNames {
  const problems = [...identifierProblems('FLEET_Q_DB_SCHEMA', schema, false), ...identifierProblems('FLEET_Q_TABLE_PREFIX', prefix, true)];
  if (problems.length > 0) throw new ValidationError('invalid PostgreSQL schema or table prefix', problems);
  const tables = tableNames(prefix);
  const qualified = (table: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  const channel = `${prefix}fleet_q_work`;
  return {
    schema,
    prefix,
    stepTracker: qualified(tables.stepTracker),
    podHealth: qualified(tables.podHealth),
    stepEvents: qualified(tables.stepEvents),
    schemaVersion: qualified(tables.schemaVersion),
    stepDependencies: qualified(tables.stepDependencies),
    schemaQuoted: quoteIdentifier(schema),
    channel,
    channelLiteral: quoteLiteral(channel),
    channelIdentifier: quoteIdentifier(channel),
    // Suffixes stay under 15 characters so that prefix (≤ 49) + suffix fits PostgreSQL's 63-byte
    // identifiers: a truncated name could collide with its neighbour's.
    index: (suffix: string) => quoteIdentifier(`${prefix}${suffix}`),
    migrationLockText: `fleet_q:${schema}:${prefix}`,
  };
}
