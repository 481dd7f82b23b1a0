/**
 * Runs every conformance area against every store in the registry (stores.ts). A store named in
 * FLEET_Q_REQUIRE_STORES (default: sqlite) that cannot be reached fails the run; any other unreachable
 * store is reported as not run, with the reason. Owns only this wiring: no case lives here.
 */
import { describe, it } from 'vitest';
import { describeAuditReplay } from './audit-replay.cases.js';
import { describeAudit } from './audit.cases.js';
import { describeBrowse } from './browse.cases.js';
import { describeClaim } from './claim.cases.js';
import { describeCompleteMany } from './complete-many.cases.js';
import { describeConcurrency } from './concurrency.cases.js';
import { describeDlqReplay } from './dlq-replay.cases.js';
import { describeFailures } from './failures.cases.js';
import { describeFencedWrites } from './fenced-writes.cases.js';
import { describeFlow } from './flow.cases.js';
import { describeMigrations } from './migrations.cases.js';
import { describePods } from './pods.cases.js';
import { describeQueueAge } from './queue-age.cases.js';
import { describeRecovery } from './recovery.cases.js';
import { describeReincarnation } from './reincarnation.cases.js';
import { describeRelease } from './release.cases.js';
import { describeRetention } from './retention.cases.js';
import { describeRetries } from './retries.cases.js';
import { describeSchedules } from './schedules.cases.js';
import { describeStats } from './stats.cases.js';
import { describeStepControl } from './step-control.cases.js';
import { STORE_FACTORIES, requiredStores, type StoreFactory } from './stores.js';
import { describeSubmit } from './submit.cases.js';
import { describeWatch } from './watch.cases.js';
import { describeWorkflow } from './workflow.cases.js';

const AREAS: readonly ((factory: StoreFactory) => void)[] = [
  describeSubmit,
  describeClaim,
  describeFencedWrites,
  describeCompleteMany,
  describeRetries,
  describeFailures,
  describeRelease,
  describeDlqReplay,
  describePods,
  describeRecovery,
  describeReincarnation,
  describeConcurrency,
  describeStats,
  describeRetention,
  describeMigrations,
  describeAudit,
  describeAuditReplay,
  describeWatch,
  describeBrowse,
  describeQueueAge,
  describeSchedules,
  describeWorkflow,
  describeFlow,
  describeStepControl,
];

const required = requiredStores();
const known = new Set<string>(STORE_FACTORIES.map((f) => f.name));

for (const name of required) {
  if (!known.has(name)) {
    describe(name, () => {
      it('is a store the conformance suite knows (required by FLEET_Q_REQUIRE_STORES)', () => {
        throw new Error(`FLEET_Q_REQUIRE_STORES names "${name}", which is not in test/conformance/stores.ts (known: ${[...known].join(', ')})`);
      });
    });
  }
}

for (const factory of STORE_FACTORIES) {
  const availability = await factory.available();
  if (availability === true) {
    describe(factory.name, factory.testTimeoutMs === undefined ? {} : { timeout: factory.testTimeoutMs }, () => {
      for (const area of AREAS) area(factory);
    });
    continue;
  }
  const reason = typeof availability === 'string' ? availability : 'not reachable';
  if (required.has(factory.name)) {
    describe(factory.name, () => {
      it('is available (required by FLEET_Q_REQUIRE_STORES)', () => {
        throw new Error(`store "${factory.name}" is required but not available: ${reason}`);
      });
    });
  } else {
    console.warn(`conformance: store "${factory.name}" not run: ${reason}`);
    describe.skipIf(true)(`${factory.name} (not run: ${reason})`, () => {
      it('conformance', () => undefined);
    });
  }
}
