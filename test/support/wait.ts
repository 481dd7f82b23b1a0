/**
 * Polling for tests that watch something happen in real time (a pod, a watcher, a reconnect):
 * `waitFor` calls a probe until it yields a value. Owns polling only; what is awaited, and with
 * which bound, is the caller's.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined/false and resolves
 * that value; after `timeoutMs` it fails naming `what`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
