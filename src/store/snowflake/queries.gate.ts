/**
 * The statements of the serialization gate (gate.ts says why it exists): the slot count the
 * migration creates and the UPDATE a gated transaction starts with. Owns SQL text only.
 */
import type { Statement } from './connection.js';
import type { SfNames } from './names.js';
import { binder } from './queries.js';

/**
 * Rows of STEP_GATE, made by migration 5. On Snowflake any gate UPDATE locks the whole table, so
 * the count only matters on row-versioned engines (the emulator), where two gated writes exclude
 * each other only when they share a slot; 64 keeps unrelated types and keys mostly apart.
 */
export const GATE_SLOTS = 64;

/** Takes the gate `slots`: stamps them with `token`, so they are written (and so locked) by this transaction. */
export function takeGateSql(n: SfNames, slots: readonly number[], token: string): Statement {
  const { v, binds } = binder();
  const list = slots.map((s) => String(Math.floor(s))).join(', ');
  return { sqlText: `UPDATE ${n.stepGate} SET GATE_TOKEN = ${v(token)} WHERE SLOT IN (${list})`, binds };
}
