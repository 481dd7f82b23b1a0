/**
 * The serialization gate of the two Snowflake writes whose correctness needs a count or a check to
 * hold until they commit: a flow-limited claim (the type's claimed steps and recent starts) and the
 * promotion of keyed submits (the idempotency key still free). Each runs inside BEGIN … COMMIT
 * whose first statement updates the gate slots of its types or keys (STEP_GATE, one row per slot).
 *
 * Why both engines then serialize: on Snowflake the gate UPDATE takes STEP_GATE's table lock until
 * COMMIT, so a second gated transaction waits at its gate UPDATE and its statements afterwards see
 * the first one's committed rows (READ COMMITTED, per statement). On the emulator (DuckDB: row
 * versions, no locks) a transaction that updates a slot another open transaction has updated, or
 * that one committed since this one began, fails with a write-write conflict (answered as 000625);
 * the transaction is rolled back and run again, now seeing the winner's rows. Plain claims and
 * plain submits never pass the gate. Owns slot choice and the retry of gated transactions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../errors.js';
import { outcomeKnown } from './classify.js';
import { inTransaction, type Answer, type RunOptions, type Statement } from './connection.js';
import type { SfNames } from './names.js';
import { GATE_SLOTS, takeGateSql } from './queries.gate.js';

type Run = (statement: Statement, options?: RunOptions) => Promise<Answer>;

/** Runs of a gated transaction that lost to another before the conflict is reported. */
const GATE_ROUNDS = 12;
const GATE_BASE_MS = 20;
const GATE_MAX_MS = 1_000;

/** FNV-1a: a stable hash, so every pod maps a type or key to the same slot. */
function slotOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % GATE_SLOTS;
}

const sorted = (slots: Iterable<number>) => [...new Set(slots)].sort((a, b) => a - b);

/** The slots of flow-limited claims of `types`. */
export function typeSlots(types: readonly string[]): number[] {
  return sorted(types.map((t) => slotOf(`type\u0000${t}`)));
}

/** The slots of keyed submits of `(type, key)` pairs. */
export function keySlots(pairs: readonly (readonly [string, string])[]): number[] {
  return sorted(pairs.map(([type, key]) => slotOf(`key\u0000${type}\u0000${key}`)));
}

/**
 * Runs `work` in a transaction that first takes `slots` (see the file header); rolled back and
 * run again, with jitter, when it lost a conflict with a statement that certainly did not commit.
 * Anything else (a non-retryable error, an answer lost on the network) is rethrown after the
 * rollback: the caller knows how to learn what happened.
 */
export async function throughGate<T>(run: Run, n: SfNames, slots: readonly number[], token: string, work: (run: Run) => Promise<T>): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await inTransaction(run, async (tx) => {
        await tx(takeGateSql(n, slots, token));
        return work(tx);
      });
    } catch (err) {
      const lostRace = err instanceof StoreError && err.errorClass === 'retryable' && outcomeKnown(err);
      if (!lostRace || round >= GATE_ROUNDS) throw err;
      const ceiling = Math.min(GATE_BASE_MS * 2 ** (round - 1), GATE_MAX_MS);
      await sleep(Math.ceil(ceiling * (0.5 + Math.random() * 0.5)));
    }
  }
}
