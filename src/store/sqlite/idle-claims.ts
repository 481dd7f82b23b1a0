/**
 * The answer "nothing of these types is claimable before T", remembered for as long as the file is
 * provably unchanged, so an idle claim repeated on an unchanged file costs one `PRAGMA data_version`
 * read instead of a transaction and an index probe. Owns the memo and its validity rule only: the
 * driver reads the markers and runs the real precheck; no SQL, no transactions.
 *
 * Valid while both change markers are as they were when the answer was read: the connection's
 * `data_version` (moves when any other connection, in this process or another, commits) and the
 * store's own write count (its own commits do not move its own `data_version`). With the data
 * unchanged, nothing due at t1 means nothing due at any t before the earliest future `run_after`
 * seen at t1. Measured with `npm run bench -- --scale --store sqlite`: an idle claim beside 1,000,000
 * completed and 100,000 delayed rows cost 14 µs (a B-tree probe one level deeper) against 5 µs on an
 * empty file; answered here, both cost the pragma.
 */

/** The two change markers; equal markers mean an unchanged file. */
export interface ChangeMarkers {
  readonly dataVersion: number;
  readonly ownWrites: number;
}

interface NothingDue {
  readonly podId: string;
  readonly types: string;
  readonly markers: ChangeMarkers;
  /** The earliest `run_after` in the future when the answer was read; null: none. */
  readonly nextDue: number | null;
}

/** One remembered "nothing claimable" answer per store. */
export class IdleClaimMemo {
  private answer: NothingDue | undefined;

  /**
   * True when `podId`'s claim of `types` at `now` is known to find nothing, given the current
   * markers (read through `readMarkers`). Keyed by pod as well: the look that found nothing also found that pod `up`.
   */
  nothingDue(podId: string, types: string, now: number, readMarkers: () => ChangeMarkers): boolean {
    const a = this.answer;
    if (a === undefined || a.podId !== podId || a.types !== types) return false;
    if (a.nextDue !== null && now >= a.nextDue) return false;
    // Read only when an answer could apply: a busy pod (no answer held) pays no pragma here.
    const markers = readMarkers();
    return a.markers.dataVersion === markers.dataVersion && a.markers.ownWrites === markers.ownWrites;
  }

  /** Remembers that `podId` was up and nothing of `types` claimable when `markers` were read (read before the look). */
  remember(podId: string, types: string, markers: ChangeMarkers, nextDue: number | null): void {
    this.answer = { podId, types, markers, nextDue };
  }

  /** Forgets the answer (e.g. something was claimable). */
  forget(): void {
    this.answer = undefined;
  }
}
