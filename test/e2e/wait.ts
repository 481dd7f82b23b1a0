/**
 * Waiting in end-to-end tests: `waitFor` polls a probe until it yields a value. Owns polling only; what is awaited, and with which bound, is the caller's.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** What a probe returns while the condition does not hold yet. */
type NotYet = false | null | undefined;

/**
 * Calls `probe` every `intervalMs` (default 50) until it returns something other than
 * false/null/undefined, and resolves that value. A probe that throws counts as "not yet" (a pod may
 * be restarting, a database reconnecting); after `timeoutMs` the wait fails naming `what` and the
 * probe's last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | NotYet> | T | NotYet,
  options: { readonly timeoutMs: number; readonly intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
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
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}
