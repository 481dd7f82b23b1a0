/**
 * `fleet-q/testing`: what a user needs to property-test a step type and its lifecycle, and the parts
 * it is built from for users who compose their own properties. Named exports only; no behaviour here.
 */
export { checkStepLifecycle, LifecycleCheckError, runViolations, type CheckStepLifecycleOptions, type CheckStepLifecycleReport } from './check.js';
export {
  abortScenarioArbitrary,
  handlerBehaviourArbitrary,
  scheduleArbitrary,
  scheduleOpArbitrary,
  type AbortScenario,
  type FaultMix,
  type HandlerBehaviour,
  type Schedule,
  type ScheduleOp,
} from './arbitraries.js';
export { checkTrail, type PodLogEntry, type ReplayedRow, type TrailContext } from './invariants.js';
export { checkAbortScenario, contractViolations } from './contract.js';
export { createEffectLog, type EffectLog, type EffectRecord } from './effect-log.js';
export { lifecycleReachability, type ReachabilityReport } from './graph.js';
export { runSchedule, SIM_DEFAULT_MAX_RETRIES, SIM_DEFAULT_TIMEOUT_MS, SIM_POLICY, SIM_START_TS, type RunRecord } from './world.js';
export { SIM_TIMING, SimPod, type SimPodOptions } from './sim-pod.js';
export { clockedStore, type ClockedStore } from './clocked-store.js';
export type { LifecycleClock, LifecycleInput, LifecycleOutput, StepLifecycle } from '../steps/lifecycle.js';
export type { LifecycleObservation } from '../steps/run-lifecycle.js';
