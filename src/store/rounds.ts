/**
 * Batched writes in rounds: a batch may name one step twice (a completion repeated), and the second
 * must be judged against the row the first wrote, so each round holds every key at most once and
 * the next round runs after it. Owns that split only; the driver writes each round.
 */

/** Writes `items` round by round (no key twice in a round, at most `maxRound` each); results in input order. */
export async function writeInRounds<T, R>(
  items: readonly T[],
  keyOf: (item: T) => string,
  writeRound: (round: readonly T[]) => Promise<readonly R[]>,
  maxRound = Number.POSITIVE_INFINITY,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let pending = items.map((_, i) => i);
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round: number[] = [];
    const later: number[] = [];
    for (const i of pending) {
      const key = keyOf(items[i]!);
      if (seen.has(key) || round.length >= maxRound) {
        later.push(i);
      } else {
        seen.add(key);
        round.push(i);
      }
    }
    const written = await writeRound(round.map((i) => items[i]!));
    round.forEach((i, j) => (results[i] = written[j]!));
    pending = later;
  }
  return results;
}
