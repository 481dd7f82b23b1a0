/**
 * The building blocks of configuration fields: how one value parses from an environment string or a
 * typed override, with the messages operators see. variables.ts combines them, one per variable.
 * Must not know any variable: names, defaults and rules between fields live in variables.ts and
 * schema.ts. The only I/O is `os.hostname()` for the default pod name.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { identifierProblems } from '../store/schema.js';

/** Node's timers overflow past 2^31 − 1 ms (~24.8 days) and then fire at once, so no interval may be longer. */
export const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Pod names become part of `pod_id` (`<name>-<8 hex>`) and of log lines. */
export const POD_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const STORAGE_MODES = ['sqlite', 'postgres', 'snowflake', 'mysql'] as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'console'] as const;
export const API_AUTH_MODES = ['tokens', 'none'] as const;

/** Shortest API token accepted: a guessable `admin` must not pass as a secret. */
export const MIN_API_TOKEN_LENGTH = 16;

/** Decimal numbers only: `Number()` alone would accept '', '0x10', 'Infinity' and ' 1 '. */
const STRICT_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export interface NumberRule {
  readonly integer?: boolean;
  readonly min: number;
  /** `min` itself is not allowed. */
  readonly minExclusive?: boolean;
  readonly max?: number;
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a number';
  if (rule.max === undefined) return `${kind} ${rule.minExclusive ? '>' : '≥'} ${rule.min}`;
  return rule.minExclusive ? `${kind} > ${rule.min} and ≤ ${rule.max}` : `${kind} from ${rule.min} to ${rule.max}`;
}

function satisfies(value: number, rule: NumberRule): boolean {
  if (!Number.isFinite(value)) return false;
  if (rule.integer && !Number.isSafeInteger(value)) return false;
  if (rule.minExclusive ? value <= rule.min : value < rule.min) return false;
  return rule.max === undefined || value <= rule.max;
}

/** A number from a typed override or a strictly decimal string ("10abc" is an error, not 10). */
export function numberField(rule: NumberRule) {
  const expected = describeRule(rule);
  return z.union([z.number(), z.string()], { error: `must be ${expected}` }).transform((raw, ctx) => {
    const value = typeof raw === 'number' ? raw : STRICT_NUMBER.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (satisfies(value, rule)) return value;
    ctx.issues.push({ code: 'custom', message: `must be ${expected}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

/** Seconds of an interval, fractions allowed, short enough for a Node timer. */
export const seconds = (min: number, minExclusive: boolean) => numberField({ min, minExclusive, max: MAX_TIMER_SECONDS });

/** One of `choices`, any case; `aliases` map other spellings operators use (e.g. WARNING). */
export function choiceField<const T extends readonly string[]>(choices: T, aliases: Readonly<Record<string, T[number]>> = {}) {
  const message = `must be one of ${choices.join(', ')}`;
  return z.string({ error: message }).transform((raw, ctx): T[number] => {
    const lower = raw.trim().toLowerCase();
    const value = aliases[lower] ?? choices.find((c) => c === lower);
    if (value !== undefined) return value;
    ctx.issues.push({ code: 'custom', message: `${message}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** true/false, also 1/0, yes/no, on/off in any case. */
export function booleanField() {
  const message = 'must be true or false';
  return z.union([z.boolean(), z.string()], { error: message }).transform((raw, ctx) => {
    if (typeof raw === 'boolean') return raw;
    const lower = raw.trim().toLowerCase();
    if (TRUE_WORDS.includes(lower)) return true;
    if (FALSE_WORDS.includes(lower)) return false;
    ctx.issues.push({ code: 'custom', message: `${message}, got ${JSON.stringify(raw)}`, input: raw });
    return z.NEVER;
  });
}

/** Any string. */
export const text = () => z.string({ error: 'must be a string' });
/** A string that is not empty. */
export const nonEmptyText = () => text().min(1, { error: 'must not be empty' });

/** A schema or table-prefix identifier (DESIGN §2), empty allowed for prefixes. */
export function identifierField(allowEmpty: boolean) {
  return text().superRefine((value, ctx) => {
    for (const problem of identifierProblems('', value, allowEmpty)) ctx.addIssue({ code: 'custom', message: problem.msg });
  });
}

/** A postgres:// or postgresql:// URL, never echoed in a message (it may hold a password). */
export function postgresUrlField() {
  return nonEmptyText().superRefine((value, ctx) => {
    let protocol: string;
    try {
      protocol = new URL(value).protocol;
    } catch {
      // The value may hold a password: never echo it.
      ctx.addIssue({ code: 'custom', message: 'must be a URL like postgres://user:password@host:5432/database' });
      return;
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:' && !MYSQL_PROTOCOLS.includes(protocol)) {
      ctx.addIssue({ code: 'custom', message: `must start with postgres://, postgresql:// or mysql://, got ${protocol}//` });
    }
  });
}

/** URL schemes of the MySQL store (`mariadb://` is accepted as the same thing). */
const MYSQL_PROTOCOLS = ['mysql:', 'mariadb:'];

/** Whether a database URL (already checked by its field) names the MySQL store's scheme. */
export function isMysqlUrl(value: string): boolean {
  try {
    return MYSQL_PROTOCOLS.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * The default pod name: the host name made valid, since the operator did not choose it and a pod must
 * not refuse to start over it (Kubernetes names fit already; some FQDNs are longer than 63).
 */
export function defaultPodName(): string {
  const cleaned = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return cleaned === '' ? 'pod' : cleaned;
}

/**
 * A comma-separated list of bearer tokens, kept as written (src/http/auth.ts splits it). Problems
 * name the position of a bad token, never its value: the value is a secret.
 */
export function tokenListField() {
  return text().superRefine((value, ctx) => {
    value.split(',').forEach((raw, index) => {
      const token = raw.trim();
      if (token === '') return;
      if (token.length < MIN_API_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
        ctx.addIssue({ code: 'custom', message: `token ${index + 1} must be at least ${MIN_API_TOKEN_LENGTH} printable characters without spaces` });
      }
    });
  });
}
