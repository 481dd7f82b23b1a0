/**
 * Counts the database statements FLEET-Q runs in this process, by label (the driver's name for the
 * statement: `claim`, `complete`, `heartbeat`, …), so the benchmark can report round trips per step
 * and an idle pod's statements per minute. Owns the counts and the label table; the driver hooks
 * live in statements.pg.ts and statements.sqlite.ts. Must not change what a statement does.
 */

/** Labels whose statements belong to liveness and leadership rather than to the steps. */
export const HEARTBEAT_LABELS: readonly string[] = ['heartbeat'];
/** The leader's periodic work: recovery sweeps and retention. */
export const SWEEP_LABELS: readonly string[] = ['sweep', 'prune'];

/** Counts by label since the last reset, and their sum. */
export interface StatementCounts {
  readonly total: number;
  readonly byLabel: { readonly [label: string]: number };
}

/** One counter for the whole benchmark process; drivers' hooks feed it. */
export class StatementCounter {
  private counts = new Map<string, number>();
  private readonly labels = new Map<string, string>();
  /** Connections the benchmark itself opened (its own reads, the commit baseline): never counted. */
  private readonly uncounted = new WeakSet<object>();

  /** Names statement texts (exact SQL → label); unknown texts are counted under a short signature. */
  addLabels(entries: Iterable<readonly [string, string]>): void {
    for (const [text, label] of entries) this.labels.set(text, label);
  }

  /** Marks a connection as the benchmark's own. */
  exclude(connection: object): void {
    this.uncounted.add(connection);
  }

  isExcluded(connection: object): boolean {
    return this.uncounted.has(connection);
  }

  /** Counts one statement run on `connection` (skipped when excluded). */
  record(connection: object, text: string, label?: string): void {
    if (this.uncounted.has(connection)) return;
    const key = label ?? this.labels.get(text) ?? signature(text);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Counts under `label` directly (transaction control the driver runs without SQL text). */
  recordLabel(connection: object, label: string, times = 1): void {
    if (this.uncounted.has(connection)) return;
    this.counts.set(label, (this.counts.get(label) ?? 0) + times);
  }

  reset(): void {
    this.counts = new Map();
  }

  snapshot(): StatementCounts {
    const byLabel = Object.fromEntries([...this.counts.entries()].sort((a, b) => b[1] - a[1]));
    return { total: [...this.counts.values()].reduce((a, b) => a + b, 0), byLabel };
  }
}

/** A statement nobody labelled: its first words, enough to find it in the driver. */
function signature(text: string): string {
  return `sql: ${text.replace(/\s+/g, ' ').trim().slice(0, 60)}`;
}

/** The sum of `labels` in `counts`. */
export function countOf(counts: StatementCounts, labels: readonly string[]): number {
  return labels.reduce((sum, label) => sum + (counts.byLabel[label] ?? 0), 0);
}
