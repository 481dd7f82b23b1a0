/**
 * End to end on the Snowflake store (the fakesnow emulator): a schedule ticking every second through a
 * leader SIGKILL makes exactly one step per tick with no gap (scenarios/schedules.ts), on
 * Snowflake-sized timings: the heir leads only after the 10 s dead-pod threshold, which the
 * schedule's `backfill: 30` covers. Without the emulator the file reports why, or fails when
 * FLEET_Q_REQUIRE_STORES names snowflake.
 */
import { describe, it } from 'vitest';
import { requiredStores } from '../conformance/stores.js';
import { emulatorUnavailableReason, emulatorUrl } from '../support/snowflake.js';
import { snowflakeQueue } from './database.js';
import { useE2eSuite, withQueue } from './harness.js';
import { SNOWFLAKE_TIMING_ENV } from './scenarios/sigkill-snowflake.js';
import { scheduleThroughLeaderKill } from './scenarios/schedules.js';

const url = emulatorUrl();
const required = requiredStores().has('snowflake');

if (url === undefined && !required) {
  console.warn(`e2e schedules on Snowflake not run: ${emulatorUnavailableReason()}`);
  describe.skip(`a schedule on Snowflake (not run: ${emulatorUnavailableReason()})`, () => it('runs', () => undefined));
} else {
  const suite = useE2eSuite();
  const queue = async () => {
    if (url === undefined) throw new Error(`store "snowflake" is required but not available: ${emulatorUnavailableReason()}`);
    return snowflakeQueue(url);
  };

  describe('a schedule through a leader SIGKILL on Snowflake', () => {
    it('makes exactly one step per tick, with no gap', async () => {
      await withQueue(queue, (q) => scheduleThroughLeaderKill(suite.cli, q, { env: SNOWFLAKE_TIMING_ENV, afterKillMs: 16_000, waitMs: 90_000 }));
    }, 300_000);
  });
}
