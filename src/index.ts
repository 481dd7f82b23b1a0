/**
 * The library API of `fleet-q` (DESIGN §5): what an application imports to define step types, run a
 * pod in-process and submit work. Named exports only, each listed on purpose: anything not here is
 * internal and may change. Must not hold behaviour.
 */
export { defineStep, type RateLimit, type StepContext, type StepDefinition } from './steps/registry.js';
export type { LifecycleClock, LifecycleInput, LifecycleOutput, StepLifecycle } from './steps/lifecycle.js';
export {
  NonRetryableError,
  FleetError,
  ConfigError,
  ValidationError,
  NotFoundError,
  ConflictError,
  StoreError,
  type FleetErrorCode,
  type FleetErrorItem,
  type StoreErrorClass,
} from './errors.js';
export { createPod, type Pod, type PodExit, type PodOptions } from './pod/pod.js';
export type { MissedTickPolicy, ScheduleDefinition } from './schedules/definition.js';
export type { PodHealthStatus, PodHealthView, RecoveryRun } from './pod/control.js';
export { createClient, type ClientOptions, type FleetClient } from './client.js';
export type { Submission } from './steps/submission.js';
export type { BatchView, DlqView, EventView, QueueView, ReplayView, StepView, SubmitView } from './http/views.js';
export { loadConfig, type FleetConfig, type FleetConfigInput } from './config/config.js';
export type { PodFact, StepOutcome } from '../machines/index.js';
