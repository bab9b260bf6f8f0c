export { Guardian, DEFAULT_GUARDIAN_CONFIG, type GuardianConfig, type GuardianDeps } from './guardian';
export {
  Intervener,
  deliverable,
  type TaskLookup,
  type InterventionRecord,
  type InterventionRecorder,
  type InterventionOutcome,
} from './steering/intervener';
export { RuleAnalyzer, type InterventionAnalyzer } from './policy/analyzer';
export { MemoryCooldownGate, type CooldownGate } from './policy/cooldown';
export {
  DETECTORS,
  DEFAULT_THRESHOLDS,
  detectErrorStorm,
  detectLooping,
  detectOnEvent,
  detectStuck,
  sweep,
  type DetectorName,
  type DetectorThresholds,
  type Finding,
  type KeyedFinding,
} from './policy/detectors';
export {
  GUARDIAN_MESSAGE_TYPE,
  InterventionRouter,
  interventionIdempotencyKey,
  isSandboxTask,
  type GuardianTask,
  type Intervention,
  type LegacyConversationSink,
  type LegacyDelivery,
  type RouteResult,
  type RoutedTo,
  type SandboxMessage,
  type SandboxMessageSink,
} from './steering/routing';
export {
  ConversationFileSink,
  INTERVENTIONS_FILE,
  type ConversationFileSinkOptions,
  type ConversationInterventionLine,
} from './steering/legacy-conversation-sink';
export {
  Trajectory,
  trajectoryKey,
  type TrajectoryView,
  type RecentEvent,
  type ToolCallRepeat,
  type FailureStreak,
  type ApplyOutcome,
} from './history/trajectory';
export { TrajectoryStore, type TrajectoryStoreOptions } from './history/trajectory-store';
export { readToolCall, stableJson, isFailedResult, type ToolCall } from './history/tool-calls';
export { createGuardianService, type GuardianService, type GuardianServiceDeps } from './guardian.service';
export { createGuardianModule, type GuardianModule } from './guardian.module';
export { QueueSandboxMessageSink, RedisCooldownGate, EventInterventionRecorder } from './guardian.adapters';
export { GuardianEnv, parseGuardianEnv } from './env';
export { guardianConfig } from './guardian.config';
