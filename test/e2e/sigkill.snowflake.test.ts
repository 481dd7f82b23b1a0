/**
 * End to end on the Snowflake store (the fakesnow emulator, test/support/snowflake/): three real
 * `fleet-q start` processes share one queue; a worker holding claims is SIGKILLed, then the leader.
 * Every acknowledged step completes exactly once and the audit trail shows the recovery
 * (scenarios/sigkill-snowflake.ts, on Snowflake-sized timings). Without the emulator the file
 * reports why, or fails when FLEET_Q_REQUIRE_STORES names snowflake.
 */
import { describe, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { snowflakeQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { sigkillWorkerThenLeaderScenario } from './scenarios/sigkill-snowflake.js';

const url = emulatorUrl();
const required = requiredStores().has('snowflake');

if (url === undefined && !required) {
  console.warn(`e2e on Snowflake not run: ${emulatorUnavailableReason()}`);
  describe.skip(`SIGKILL on Snowflake (not run: ${emulatorUnavailableReason()})`, () => it('runs', () => undefined));
} else {
  const suite = useE2eSuite();
  const queue = async () => {
    if (url === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
    return snowflakeQueue(url);
  };

  describe('SIGKILL on Snowflake', () => {
    it('a worker, then the leader: every step completes exactly once and each held claim is recovered', async () => {
      await withQueue(queue, (q) => sigkillWorkerThenLeaderScenario(suite.cli, q));
    }, 300_000);
  });
}
