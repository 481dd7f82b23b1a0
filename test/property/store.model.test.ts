/**
 * Model-based property of the SQLite store: random sequences of submits, claims, fenced writes by
 * holders and by stale writers, pod deaths, heartbeats, registrations, sweeps, replays and clock
 * moves run against a real store on a fresh temp file and against the reference model; after every
 * command the whole store must agree with the model and the audit trail must keep I1–I11, I13, I14
 * and I17. Each sequence ends with a settle phase (clock past everything, a fresh pod sweeps and
 * works the queue dry), after which every acknowledged step must be terminal, exactly once.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  AdvanceCommand,
  ClaimCommand,
  CompleteCommand,
  commandArbitraries,
  podIdOf,
  RegisterCommand,
  STEP_TYPES,
  SweepCommand,
  type World,
} from './commands.js';
import { checkProperty, openTempStore, PROPERTY_POLICY, START_TS } from './harness.js';
import { QueueModel } from './model.js';
import { checkAgreement } from './observe.js';
import type { Store } from '../../src/store/store.js';

/** 80 runs of up to 40 commands took 11 s on a 2-core machine (see the report in the commit). */
const NUM_RUNS = 80;
const MAX_COMMANDS = 40;

function newWorld(): World {
  const slots = ['pa', 'pb', 'pc'].map((name) => ({ name, podId: podIdOf(name, 0), incarnation: 0, silent: false }));
  return { queue: new QueueModel(PROPERTY_POLICY, START_TS), slots };
}

/** Three pods are up from the start; claims by not-yet-registered incarnations cover the missing row. */
async function start(world: World, store: Store): Promise<void> {
  await new RegisterCommand(0, false).run(world, store);
  await new RegisterCommand(1, false).run(world, store);
  await new RegisterCommand(2, false).run(world, store);
}

/**
 * Faults stop and one pod lives: move the clock past every heartbeat and backoff, register a fresh
 * pod, sweep, and claim and complete until nothing is open. Each round is bounded, and recovered
 * steps need at most one more round, so a queue that does not drain within 10 rounds is a failure.
 */
async function settle(world: World, store: Store): Promise<void> {
  const q = world.queue;
  const open = () => [...q.steps.values()].filter((s) => s.status === 'pending' || s.status === 'claimed');
  for (let round = 0; round < 10 && open().length > 0; round++) {
    await new AdvanceCommand(PROPERTY_POLICY.deadPodThresholdMs + PROPERTY_POLICY.maxDelayMs, false).run(world, store);
    await new RegisterCommand(0, true).run(world, store);
    await new SweepCommand(0, false).run(world, store);
    for (;;) {
      await new ClaimCommand(0, 10, STEP_TYPES).run(world, store);
      const claimed = [...q.steps.values()].filter((s) => s.status === 'claimed');
      if (claimed.length === 0) break;
      for (let i = 0; i < claimed.length; i++) await new CompleteCommand(0, 'holder').run(world, store);
    }
  }
  expect(open().map((s) => s.stepId), 'I1 steps still open after settling').toEqual([]);
  await checkAgreement(q, store, true);
}

const storeProperty = fc.asyncProperty(
  fc.commands(commandArbitraries(PROPERTY_POLICY.deadPodThresholdMs), { maxCommands: MAX_COMMANDS, size: 'max' }),
  async (commands) => {
    const temp = await openTempStore();
    try {
      const world = newWorld();
      await start(world, temp.store);
      await fc.asyncModelRun(() => ({ model: world, real: temp.store }), commands);
      await settle(world, temp.store);
    } finally {
      await temp.dispose();
    }
  },
);

it('the SQLite store agrees with the reference model and keeps the audit-trail invariants', async () => {
  await checkProperty('store model property', storeProperty, NUM_RUNS);
}, 300_000);
