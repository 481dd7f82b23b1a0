/**
 * Conformance: `watchWork` wakes an idle pod soon after another process submits (DESIGN §3 Claim:
 * LISTEN/NOTIFY or a ~100 ms change check), and stops after unsubscribe. The one area on real time:
 * it waits at most WAKE_WITHIN_MS. Must not depend on a driver's SQL or tables.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TYPE, freshStores } from './fixtures.js';
import type { StoreFactory } from './stores.js';

/** A ~100 ms poll, or a notification, must arrive well within this. */
const WAKE_WITHIN_MS = 1_000;
/** Long enough for a subscription's start-up (and any spurious first call) to pass. */
const SETTLE_MS = 300;

async function waitUntil(condition: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(10);
  }
  return condition();
}

/** Registers the watchWork cases for `factory`. */
export function describeWatch(factory: StoreFactory): void {
  describe('watchWork', () => {
    const open = freshStores(factory);

    it(`calls back within ${WAKE_WITHIN_MS} ms of a submit by another store instance`, async () => {
      const { store, openPeer } = await open();
      const producer = await openPeer();
      let calls = 0;
      const unsubscribe = store.watchWork(() => calls++);
      try {
        await sleep(SETTLE_MS);
        calls = 0;
        await producer.stepSubmit({ type: TYPE, args: { wake: true }, maxRetries: 0, timeoutMs: 1_000 });
        expect(await waitUntil(() => calls > 0, WAKE_WITHIN_MS)).toBe(true);
      } finally {
        unsubscribe();
      }
    });

    it('stops calling back after unsubscribe', async () => {
      const { store, openPeer } = await open();
      const producer = await openPeer();
      let calls = 0;
      const unsubscribe = store.watchWork(() => calls++);
      await sleep(SETTLE_MS);
      unsubscribe();
      calls = 0;
      await producer.stepSubmit({ type: TYPE, args: { wake: false }, maxRetries: 0, timeoutMs: 1_000 });
      await sleep(WAKE_WITHIN_MS / 2);
      expect(calls).toBe(0);
    });
  });
}
