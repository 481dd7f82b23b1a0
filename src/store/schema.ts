/**
 * Physical table names and the identifier rules of DESIGN §2, shared by every driver.
 * Owns naming only: no SQL dialect lives here.
 */
import { ValidationError, type FleetErrorItem } from '../errors.js';

/** Table prefixes and schema names (DESIGN §2). */
export const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_IDENTIFIER_LENGTH = 63;

export const BASE_TABLES = ['step_tracker', 'pod_health', 'step_events'] as const;

export interface TableNames {
  readonly stepTracker: string;
  readonly podHealth: string;
  readonly stepEvents: string;
  /** Records the schema version; one row. */
  readonly schemaVersion: string;
  /** Workflow edges: one row per (step, parent). */
  readonly stepDependencies: string;
}

/** Problems with a prefix (empty allowed) or schema name; empty list when valid. */
export function identifierProblems(loc: string, value: string, allowEmpty: boolean): FleetErrorItem[] {
  if (value === '' && allowEmpty) return [];
  const problems: FleetErrorItem[] = [];
  if (!IDENTIFIER_PATTERN.test(value)) problems.push({ loc, msg: `must match ${IDENTIFIER_PATTERN.source}` });
  const longest = Math.max(...BASE_TABLES.map((t) => t.length), 'schema_version'.length, 'step_dependencies'.length);
  if (allowEmpty && value.length + longest > MAX_IDENTIFIER_LENGTH) {
    problems.push({ loc, msg: `prefix + table name must be at most ${MAX_IDENTIFIER_LENGTH} characters` });
  }
  if (!allowEmpty && value.length > MAX_IDENTIFIER_LENGTH) {
    problems.push({ loc, msg: `must be at most ${MAX_IDENTIFIER_LENGTH} characters` });
  }
  return problems;
}

/** Table names for a validated prefix (lower case; Snowflake upper-cases them itself). */
export function tableNames(prefix = ''): TableNames {
  const problems = identifierProblems('FLEET_Q_TABLE_PREFIX', prefix, true);
  if (problems.length > 0) throw new ValidationError('invalid table prefix', problems);
  return {
    stepTracker: `${prefix}step_tracker`,
    podHealth: `${prefix}pod_health`,
    stepEvents: `${prefix}step_events`,
    schemaVersion: `${prefix}schema_version`,
    stepDependencies: `${prefix}step_dependencies`,
  };
}
