/**
 * The effects the pod machines invoke (machines/actors.ts), built from a Store, the step registry,
 * configuration and telemetry. Each promise actor makes one Store call (one transaction) and resolves
 * with what it committed, which reaches the machine as the actor's done event; a failure rejects and
 * reaches it as the error event. Nothing here retries, sleeps or crashes the process on a database
 * error: the machines decide what a failure means (a missed beat, a claim retried on the next wake-up,
 * a report retried after a pause). This file must not decide any of that, nor read a machine's state
 * beyond the in-flight count it is handed.
 */
import { hostname } from 'node:os';
import { fromPromise } from 'xstate';
import type {
  CheckLeaderOutput,
  ClaimStepsInput,
  ClaimStepsOutput,
  HeartbeatOutput,
  PodActorImplementations,
  PodInput,
  PruneInput,
  PruneReport,
  RecoverInput,
  RecoveryReport,
  RegisterInput,
  RegisterOutput,
  ReportStepInput,
  ReportStepOutput,
  StepReport,
} from '../../machines/index.js';
import { capacityOf, type FleetConfig } from '../config/config.js';
import { FleetError } from '../errors.js';
import { completionBatcher, type CompletionBatcher } from './completions.js';
import { executeStepLogic } from './execute-step.js';
import { newPodId } from '../ids.js';
import type { Logger } from '../log.js';
import type { PodTelemetry } from './telemetry.js';
import type { StepRegistry } from '../steps/registry.js';
import type { FencedWriteResult, Json, LeaderInfo, PodMeta, Store } from '../store/store.js';
import { FLEET_Q_VERSION } from '../version.js';

/** What the effects are built from. */
export interface PodActorDeps {
  readonly store: Store;
  readonly registry: StepRegistry;
  readonly config: Pick<FleetConfig, 'podId' | 'maxParallelism' | 'capacityThreshold'>;
  /** Parent of every handler's `ctx.log`. */
  readonly logger: Logger;
  readonly telemetry: PodTelemetry;
  /** Steps running on this pod now (the supervisor's busy slots), recorded in `pod_health.meta`. */
  readonly inFlight: () => number;
  /** Told of every committed leader read (for `/health` and `/admin/leader` freshness). */
  readonly onLeaderCheck?: (info: LeaderInfo) => void;
}

/** Every effect of the pod machines, ready for `providePodActors`. */
export function createPodActors(deps: PodActorDeps): PodActorImplementations {
  const { store, registry, telemetry } = deps;
  const name = deps.config.podId;
  const capacity = capacityOf(deps.config);
  const host = hostname();
  const types = registry.types();
  // Completions of steps that finish together are written as one batch (completions.ts).
  const completions = completionBatcher(store);
  const meta = (): PodMeta => ({
    max_parallelism: deps.config.maxParallelism, capacity, in_flight: deps.inFlight(), version: FLEET_Q_VERSION, host,
  });
  /** Runs one Store call, counting a failure before the machine hears of it. */
  const call = async <T>(operation: keyof Store, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      telemetry.storeError(operation, err);
      throw err;
    }
  };

  return {
    register: fromPromise<RegisterOutput, RegisterInput>(async () => {
      // A fresh id per incarnation: a re-registered pod never inherits, or hides, its old claims.
      const podId = newPodId(name);
      await call('podRegister', () => store.podRegister({ podId, name, meta: meta() }));
      return { podId };
    }),

    claimSteps: fromPromise<ClaimStepsOutput, ClaimStepsInput>(async ({ input }) => {
      const steps = await call('stepClaim', () => store.stepClaim({ podId: input.podId, types, limit: input.limit }));
      telemetry.stepsClaimed(input.podId, steps);
      return steps;
    }),

    markDown: fromPromise<void, PodInput>(async ({ input }) => {
      await call('podMarkDown', () => store.podMarkDown({ podId: input.podId }));
    }),

    heartbeat: fromPromise<HeartbeatOutput, PodInput>(async ({ input }) => {
      const beat = await call('podHeartbeat', () => store.podHeartbeat({ podId: input.podId, meta: meta() }));
      return { ok: beat.ok };
    }),

    checkLeader: fromPromise<CheckLeaderOutput, PodInput>(async ({ input }) => {
      const info = await call('leaderGet', () => store.leaderGet());
      deps.onLeaderCheck?.(info);
      const leaderId = info.leader?.podId ?? null;
      return { isLeader: leaderId === input.podId, leaderId };
    }),

    recover: fromPromise<RecoveryReport, RecoverInput>(({ input }) =>
      call('recoverySweep', () => store.recoverySweep({ podId: input.podId, dryRun: input.dryRun })),
    ),

    prune: fromPromise<PruneReport, PruneInput>(({ input }) => call('retentionPrune', () => store.retentionPrune({ olderThanMs: input.olderThanMs }))),

    executeStep: executeStepLogic({ registry, logger: deps.logger }),

    reportStep: fromPromise<ReportStepOutput, ReportStepInput>(async ({ input }) => {
      const written = await call(operationOf(input.report), () => writeReport(store, completions, input));
      if (!written.applied) {
        telemetry.event('warn', 'stale_write_rejected', { step_id: input.stepId, attempt: input.attempt, pod_id: input.podId, write: input.report.kind },
          'fenced write matched no row: this pod no longer holds the claim; its outcome was dropped');
        return { outcome: 'stale' };
      }
      if (input.report.kind === 'fail' && input.report.reason === 'timeout') {
        telemetry.event('warn', 'step.timed_out', { step_id: input.stepId, attempt: input.attempt, pod_id: input.podId, outcome: written.outcome, error: input.report.error },
          'step timed out; its slot stays busy until the handler settles');
      }
      return { outcome: written.outcome };
    }),
  };
}

function operationOf(report: StepReport): 'stepComplete' | 'stepFail' | 'stepRelease' {
  return report.kind === 'complete' ? 'stepComplete' : report.kind === 'fail' ? 'stepFail' : 'stepRelease';
}

type AnyFencedWrite = FencedWriteResult<'completed' | 'retried' | 'dead_lettered' | 'released'>;

/** The one fenced write `input.report` asks for. */
async function writeReport(store: Store, completions: CompletionBatcher, input: ReportStepInput): Promise<AnyFencedWrite> {
  const claim = { stepId: input.stepId, podId: input.podId, attempt: input.attempt };
  const report = input.report;
  switch (report.kind) {
    case 'complete':
      try {
        // executeStep hands over plain JSON within the size limit (see resultEvent).
        return await completions.complete({ ...claim, result: report.result as Json });
      } catch (err) {
        // A result the store refuses would be refused on every retry of this write, and the row would
        // stay claimed by a live pod forever: record the attempt as failed instead, for good.
        if (!(err instanceof FleetError && err.code === 'validation_error')) throw err;
        return store.stepFail({ ...claim, error: `step result refused: ${err.message}`, retryable: false, reason: 'error' });
      }
    case 'fail':
      return store.stepFail({ ...claim, error: report.error, retryable: report.retryable, reason: report.reason });
    case 'release':
      return store.stepRelease({ ...claim, reason: 'drain' });
  }
}
