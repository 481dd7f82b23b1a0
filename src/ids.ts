/**
 * Identifiers: time-ordered step ids (`step_` + 10 chars of milliseconds + 16 random chars, Crockford
 * base32 like ULID, so lexical order is creation order across processes to the millisecond) and
 * pod ids (`<name>-<8 hex>`, a new suffix per process start).
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

function encodeRandom(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += CROCKFORD[b % 32]!;
  return out;
}

/** A new step id; ids made in a later millisecond sort after earlier ones. */
export function newStepId(now: number = Date.now()): string {
  return `step_${encodeTime(now)}${encodeRandom(16)}`;
}

/** `<name>-<8 hex>`: a fresh incarnation id for a pod process. */
export function newPodId(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}
