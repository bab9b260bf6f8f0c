// The fault-tolerance supervisor: the task edge, the sweep (heartbeat ladder, restarts, quarantine, idle
// stops) and the pure policies it applies. See README.md.
export { createSupervisorService, type SupervisorService, type SupervisorServiceDeps } from './supervisor.service';
export { createSupervisorModule, type SupervisorModule } from './supervisor.module';
export { Supervisor, type SupervisorConfig, type SupervisorDeps, type SweepReport } from './supervisor';
export { SupervisorEnv, parseSupervisorEnv, supervisorConfig } from './env';
export { createSandboxProvider } from './sandbox-provider';
export { workerEnvFor, type WorkerEnvInput } from './policy/worker-env';
export { SupervisorState, type SandboxLock } from './redis-state';
export { SessionStore, type SweptSession } from './session-store';
export { systemClock, type Clock, type Instant } from './clock';
export {
  DEFAULT_HEARTBEAT_POLICY,
  ESCALATION_LEVELS,
  HeartbeatLadder,
  ladderStep,
  missedIntervals,
  validateHeartbeatPolicy,
  type EscalationLevel,
  type HeartbeatPolicy,
  type LadderAction,
  type LadderActionKind,
  type LadderStep,
  type SupervisedSession,
} from './sweep/heartbeat-ladder';
export {
  DEFAULT_RESTART_INTENSITY,
  RestartIntensity,
  backoffDelay,
  decideRestart,
  restartsInWindow,
  validateRestartIntensity,
  type RestartDecision,
  type RestartIntensityPolicy,
} from './policy/restart-intensity';
export {
  DEFAULT_TRAJECTORY_LIMITS,
  DEFAULT_TRAJECTORY_READ,
  TRAJECTORY_EVENT_TYPES,
  buildTrajectoryContext,
  readTrajectoryEvents,
  trajectoryEventQuery,
  type TrajectoryContext,
  type TrajectoryContextInput,
  type TrajectoryContextLimits,
  type TrajectoryReadOptions,
} from './history/trajectory-context';
export { digestTrajectory, type EditedFile, type StepLimits, type TrajectoryDigest } from './history/trajectory-steps';
export {
  DEFAULT_IDLE_POLICY,
  IdleMonitor,
  isActivityEvent,
  validateIdlePolicy,
  type IdleCandidate,
  type IdlePolicy,
  type IdleStop,
} from './sweep/idle-monitor';
