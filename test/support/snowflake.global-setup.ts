/**
 * Vitest global setup: one Snowflake emulator for the whole run (see snowflake/emulator.ts), unless
 * `FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL` names one already running. When python3 or pip is missing
 * it provides the reason instead, and the Snowflake tests report it (or fail, when
 * FLEET_Q_REQUIRE_STORES names snowflake). Owns the emulator's lifetime only.
 */
import type { TestProject } from 'vitest/node';
import { startEmulator } from './snowflake/emulator.js';
import type { ProvidedSnowflake } from './snowflake.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env['FLEET_Q_TEST_SNOWFLAKE_EMULATOR_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('fleetQSnowflake', { url: fromEnv, reason: null } satisfies ProvidedSnowflake);
    return async () => undefined;
  }
  try {
    const emulator = await startEmulator();
    project.provide('fleetQSnowflake', { url: emulator.url, reason: null } satisfies ProvidedSnowflake);
    return () => emulator.stop();
  } catch (err) {
    const reason = (err as Error).message;
    console.warn(`snowflake: the emulator did not start, so the Snowflake tests do not run here: ${reason}`);
    project.provide('fleetQSnowflake', { url: null, reason } satisfies ProvidedSnowflake);
    return async () => undefined;
  }
}
