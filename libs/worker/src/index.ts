export * from './lib/worker-env';
export * from './lib/run-worker';
export type {
  Agent,
  AgentEmit,
  AgentEmittedType,
  SteeringNote,
  TurnContext,
  TurnInput,
  TurnResult,
} from './lib/agent/agent';
export { AGENT_EMITTED_TYPES } from './lib/agent/agent';
export { ShellAgent, type ShellAgentOptions } from './lib/agent/shell-agent';
export {
  ClaudeAgent,
  CLAUDE_AGENT_SDK_VERSION,
  loadClaudeSdk,
  type ClaudeAgentOptions,
  type ClaudeSdk,
} from './lib/agent/claude-agent';
export { parsePlan, parsePlanJson, type ShellPlan, type ShellStep } from '@sandbox-relay/contracts';
export type { FileEdit } from './lib/agent/file-edit';
export { RelayClient, type RelayClientOptions, type WorkerRelay } from './lib/relay/relay-client';
export type { OutboxStats } from './lib/relay/event-outbox';
export type { WorkerOutcome } from './lib/loop/worker-loop';
export type { WorkerStatus } from './lib/loop/heartbeat';
export { systemClock, type Clock } from './lib/util/clock';
export type { WorkerLogger } from './lib/util/logger';
