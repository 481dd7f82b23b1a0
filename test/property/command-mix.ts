/**
 * The command mix of the model-based property: which commands, with which parameters, how often.
 * The weights were tuned by counting what 60 sequences reach (claims that find work, retries spent,
 * recoveries, replays after retries); the rarest outcomes are also pinned by fixed scenarios in
 * store.model.test.ts. Owns generation only: what a command does lives in commands.ts.
 */
import fc from 'fast-check';
import type { Json } from '../../src/store/store.js';
import {
  AdvanceCommand,
  ClaimCommand,
  DrainCommand,
  HeartbeatCommand,
  KillCommand,
  MarkDownCommand,
  RegisterCommand,
  ReplayCommand,
  CancelCommand,
  ReportCommand,
  STEP_TYPES,
  SubmitCommand,
  SweepCommand,
  WorkCommand,
  type Passing,
  type Report,
  type StoreCommand,
  type WriterVariant,
} from './commands.js';

/** Argument values that repeat, differ, and include two with the same canonical JSON. */
const ARGS: readonly Json[] = [{ n: 1 }, { n: 2 }, { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }];

/** The command mix, weighted by repetition; `threshold` is the dead-pod threshold of the policy. */
export function commandArbitraries(threshold: number): fc.Arbitrary<StoreCommand>[] {
  const slot = fc.integer({ min: 0, max: 2 });
  const pick = fc.nat(15);
  const variant = fc.constantFrom<WriterVariant>('holder', 'holder', 'holder', 'wrongPod', 'oldAttempt');
  const reason = fc.constantFrom<'error' | 'timeout'>('error', 'timeout');
  const submit = fc
    .record({
      type: fc.constantFrom(...STEP_TYPES),
      args: fc.constantFrom(...ARGS),
      priority: fc.integer({ min: 0, max: 2 }),
      maxRetries: fc.integer({ min: 0, max: 3 }),
      idempotencyKey: fc.option(fc.constantFrom('k1', 'k2'), { freq: 2, nil: null }),
    })
    .map((spec) => new SubmitCommand(spec));
  // Mostly every type, so claims find work; sometimes a subset (or none) to check the type filter.
  const types = fc.oneof({ arbitrary: fc.constant([...STEP_TYPES]), weight: 3 }, { arbitrary: fc.subarray([...STEP_TYPES]), weight: 1 });
  const unregistered = fc.constantFrom(false, false, false, false, false, false, false, true);
  const claim = fc.tuple(slot, fc.integer({ min: 1, max: 3 }), types, unregistered).map(([s, limit, t, u]) => new ClaimCommand(s, limit, t, u));
  const report = fc.oneof(
    { arbitrary: fc.constant<Report>({ kind: 'complete' }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('fail' as const), retryable: fc.constantFrom(true, true, true, false), reason }), weight: 4 },
    { arbitrary: fc.constant<Report>({ kind: 'release' }), weight: 2 },
  );
  const reportBy = fc.tuple(pick, variant, report).map(([p, v, r]) => new ReportCommand(p, v, r));
  const outcome = fc.oneof({ arbitrary: report, weight: 4 }, { arbitrary: fc.constant('crash' as const), weight: 1 });
  const work = fc.tuple(slot, outcome).map(([s, r]) => new WorkCommand(s, r));
  // Mostly short moves (backoffs expire, pods stay live); sometimes to the dead threshold and past it.
  const advance = fc
    .oneof(
      { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 3 },
      { arbitrary: fc.integer({ min: 300, max: 1500 }), weight: 3 },
      { arbitrary: fc.constantFrom(threshold - 1, threshold, threshold + 1), weight: 1 },
      { arbitrary: fc.integer({ min: threshold, max: 2 * threshold }), weight: 2 },
    )
    .chain((ms) => fc.constantFrom<Passing>('paused', 'beating', 'sweeping').map((passing) => new AdvanceCommand(ms, passing)));
  const heartbeat = fc.option(slot, { nil: null, freq: 2 }).map((s) => new HeartbeatCommand(s));
  const death = fc.tuple(slot, fc.constantFrom(false, false, false, true)).map(([s, markDown]) => (markDown ? new MarkDownCommand(s) : new KillCommand(s)));
  const register = fc.tuple(slot, fc.boolean()).map(([s, fresh]) => new RegisterCommand(s, fresh));
  const sweep = fc.tuple(fc.option(slot, { nil: null }), fc.constantFrom(false, false, false, false, false, true)).map(([s, dry]) => new SweepCommand(s, dry));
  const replayTarget = fc.constantFrom<'failed' | 'any' | 'unknown'>('failed', 'failed', 'failed', 'failed', 'any', 'unknown');
  const replay = fc.tuple(pick, replayTarget).map(([p, target]) => new ReplayCommand(p, target));
  const drain = slot.map((s) => new DrainCommand(s));
  const cancel = fc.tuple(pick, fc.constantFrom(false, false, false, true)).map(([p, unknown]) => new CancelCommand(p, unknown));
  return [
    ...times(2, submit),
    ...times(3, claim),
    ...times(5, reportBy),
    ...times(4, work),
    ...times(3, heartbeat),
    ...times(2, register),
    ...times(2, death),
    drain,
    ...times(3, sweep),
    ...times(3, replay),
    cancel,
    ...times(4, advance),
  ];
}

/** fast-check picks among the arbitraries of `fc.commands` evenly: repeating one weights it. */
function times<T>(n: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T>[] {
  return Array.from({ length: n }, () => arbitrary);
}
