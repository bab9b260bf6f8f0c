// The supervisor's policy: pure decisions over data the service reads from Redis/Postgres. The service
// itself (edge, sweeps, provider calls, locks) is not built yet; see README.md.
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
} from './heartbeat-ladder';
export {
  DEFAULT_RESTART_INTENSITY,
  RestartIntensity,
  backoffDelay,
  decideRestart,
  restartsInWindow,
  validateRestartIntensity,
  type RestartDecision,
  type RestartIntensityPolicy,
} from './restart-intensity';
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
} from './trajectory-context';
export { digestTrajectory, type EditedFile, type StepLimits, type TrajectoryDigest } from './trajectory-steps';
export {
  DEFAULT_IDLE_POLICY,
  IdleMonitor,
  isActivityEvent,
  validateIdlePolicy,
  type IdleCandidate,
  type IdlePolicy,
  type IdleStop,
} from './idle-monitor';
