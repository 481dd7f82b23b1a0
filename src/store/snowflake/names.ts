/**
 * Physical names of one Snowflake queue: `<SCHEMA>.<PREFIX><TABLE>`, unquoted, so Snowflake folds
 * them to upper case (DESIGN §2). Owns naming only; identifiers are validated here, values are
 * always bound, never spliced.
 */
import { ValidationError } from '../../errors.js';
import { identifierProblems, tableNames } from '../schema.js';

/** Qualified table names of one queue. */
export interface SfNames {
  readonly schema: string;
  readonly stepTracker: string;
  readonly podHealth: string;
  readonly stepEvents: string;
  readonly schemaVersion: string;
  readonly stepDependencies: string;
  /** Snowflake only: the serialization gate of flow-limited claims and keyed submits (gate.ts). */
  readonly stepGate: string;
}

/** Names for a validated schema and prefix; `ValidationError` otherwise. */
export function sfNames(schema = 'PUBLIC', prefix = ''): SfNames {
  const problems = identifierProblems('FLEET_Q_SNOWFLAKE_SCHEMA', schema, false);
  if (problems.length > 0) throw new ValidationError('invalid Snowflake schema', problems);
  const t = tableNames(prefix);
  const q = (table: string) => `${schema}.${table}`.toUpperCase();
  return {
    schema: schema.toUpperCase(),
    stepTracker: q(t.stepTracker),
    podHealth: q(t.podHealth),
    stepEvents: q(t.stepEvents),
    schemaVersion: q(t.schemaVersion),
    stepDependencies: q(t.stepDependencies),
    stepGate: q(`${prefix}step_gate`),
  };
}
