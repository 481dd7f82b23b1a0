/**
 * The effect log: a test double for the outside world a handler writes to, keyed by
 * `ctx.idempotencyKey`, so a test can assert what FLEET-Q promises users who key their effects that
 * way: at-least-once execution, and the effect applied once per completed step. It owns that record
 * and its check; it must not run steps or read a store.
 */

/** One application of an effect. */
export interface EffectRecord {
  readonly key: string;
  readonly effect: string;
  readonly attempt?: number;
}

/** The log a handler writes to; see `createEffectLog`. */
export interface EffectLog {
  /**
   * Applies `effect` for `key` unless it was already applied (what an idempotent API does with an
   * idempotency key); returns true when this call applied it. Every call is counted as an attempt.
   */
  applyOnce(key: string, effect?: string, attempt?: number): boolean;
  /** Records an effect applied without deduplication (a handler that is not idempotent). */
  record(key: string, effect?: string, attempt?: number): void;
  /** Effects applied for `key` (all effects, or one by name). */
  countOf(key: string, effect?: string): number;
  /** Calls of `applyOnce`/`record` for `key`: how often the handler ran its effect. */
  attemptsOf(key: string): number;
  readonly applied: readonly EffectRecord[];
  /**
   * The broken promises: each key in `completedKeys` must have each of its effects applied exactly
   * once, and no effect may be applied twice for any key. Returns one message per problem.
   */
  violations(completedKeys: Iterable<string>): string[];
  /** Forgets everything (between runs of a property). */
  clear(): void;
}

/** A new, empty effect log. */
export function createEffectLog(): EffectLog {
  const applied: EffectRecord[] = [];
  const attempts = new Map<string, number>();
  const count = (key: string, effect?: string) => applied.filter((r) => r.key === key && (effect === undefined || r.effect === effect)).length;
  const push = (key: string, effect: string, attempt: number | undefined) => applied.push(attempt === undefined ? { key, effect } : { key, effect, attempt });
  return {
    applied,
    applyOnce(key, effect = 'effect', attempt) {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      if (count(key, effect) > 0) return false;
      push(key, effect, attempt);
      return true;
    },
    record(key, effect = 'effect', attempt) {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      push(key, effect, attempt);
    },
    countOf: count,
    attemptsOf: (key) => attempts.get(key) ?? 0,
    violations(completedKeys) {
      const out: string[] = [];
      const byKey = new Map<string, Map<string, number>>();
      for (const r of applied) {
        const effects = byKey.get(r.key) ?? new Map<string, number>();
        effects.set(r.effect, (effects.get(r.effect) ?? 0) + 1);
        byKey.set(r.key, effects);
      }
      for (const key of new Set(completedKeys)) {
        if (!byKey.has(key)) out.push(`effect log: completed step with key ${key} applied no effect`);
      }
      for (const [key, effects] of byKey) {
        for (const [effect, n] of effects) if (n > 1) out.push(`effect log: ${effect} applied ${n} times for key ${key}`);
      }
      return out;
    },
    clear() {
      applied.length = 0;
      attempts.clear();
    },
  };
}
