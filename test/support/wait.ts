/**
 * Polling for tests that watch something happen in real time (a pod, a watcher, a reconnect, a pod
 * process restarting): the one `waitFor` of the test suites. Owns polling only; what is awaited,
 * and with which bound, is the caller's.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What a probe returns while the condition does not hold yet. */
type NotYet = false | null | undefined;

/** How long to wait and how often to look. */
export interface WaitOptions {
  readonly timeoutMs: number;
  /** Default 20 ms. */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` every `intervalMs` until it returns something other than false/null/undefined, and
 * resolves that value. A probe that throws counts as "not yet" (a pod may be restarting, a database
 * reconnecting); after the timeout (default 10 s; a number is the timeout) the wait fails naming
 * `what` and the probe's last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | NotYet> | T | NotYet,
  options: WaitOptions | number = 10_000,
  intervalMs = 20,
): Promise<T> {
  const { timeoutMs, intervalMs: every = intervalMs } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== null && value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(every);
  }
}
