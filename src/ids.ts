/**
 * Identifiers: time-ordered step ids (`step_` + 10 chars of milliseconds + 16 chars, Crockford
 * base32 like ULID, so lexical order is creation order across processes to the millisecond, and
 * within a millisecond in one process) and pod ids (`<name>-<8 hex>`, a new suffix per process start).
 */
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeTime(ms: number): string {
  let out = '';
  let rest = Math.floor(ms);
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/**
 * Random bytes are drawn in blocks and handed out in slices, never reused: with one `randomBytes`
 * call per id a step id cost 3.1 µs, drawn in blocks it costs 0.55 µs (200,000 ids), which a
 * 10,000-step batch submit pays per step.
 */
const RANDOM_BLOCK_BYTES = 4096;
let randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
let randomOffset = 0;

/** The last id's millisecond and its 16 random digits (0–31), the base of the next id in that millisecond. */
let lastMs = Number.NaN;
const lastDigits = new Uint8Array(16);

/**
 * A new step id; ids made in a later millisecond sort after earlier ones, and ids this process makes
 * in one millisecond sort in the order made (the previous id's random part plus one, as ULID's
 * monotonic mode). A batch submitted at once shares a millisecond: with a fresh random part per id
 * its steps were claimed in random order, and a claim of 40 SQLite steps updated 40 rows scattered
 * over the batch instead of 40 neighbours (84 WAL pages written per claim instead of 31, in a trial
 * on a file of 20,000 steps).
 */
export function newStepId(now: number = Date.now()): string {
  const ms = Math.floor(now);
  if (ms !== lastMs || !incrementDigits(lastDigits)) {
    lastMs = ms;
    if (randomOffset + lastDigits.length > RANDOM_BLOCK_BYTES) {
      randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
      randomOffset = 0;
    }
    for (let i = 0; i < lastDigits.length; i++) lastDigits[i] = randomBlock[randomOffset + i]! % 32;
    randomOffset += lastDigits.length;
  }
  let random = '';
  for (const digit of lastDigits) random += CROCKFORD[digit]!;
  return `step_${encodeTime(ms)}${random}`;
}

/** Adds one to a base-32 number held as digits; false (digits unchanged) when it would overflow. */
function incrementDigits(digits: Uint8Array): boolean {
  let i = digits.length - 1;
  while (i >= 0 && digits[i] === 31) i--;
  if (i < 0) return false;
  digits[i]!++;
  digits.fill(0, i + 1);
  return true;
}

/** `<name>-<8 hex>`: a fresh incarnation id for a pod process. */
export function newPodId(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}
