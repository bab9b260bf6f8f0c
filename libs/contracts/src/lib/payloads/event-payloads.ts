// Event type → payload, for every event type the relay emits or reads. Adding an event type is adding
// its schema here (and its name to event-types.ts): the typed event sink (libs/store, event-sink.ts)
// then refuses emit sites whose data does not match, so the compiler lists every one to touch.
// docs/adding-an-event-type.md has the whole list of files.
import type { z } from 'zod';
import { BranchWorkflowEventData } from '../branch-workflow.schema';
import { CANARY_EVENT_TYPE } from '../canary';
import {
  AGENT_EVENT_TYPES,
  BRANCH_WORKFLOW_EVENT_TYPES,
  OMOIOS_AGENT_EVENT_TYPES,
  SUPERVISOR_EVENT_TYPES,
  SYSTEM_EVENT_TYPES,
  TASK_LIFECYCLE_EVENT_TYPES,
} from '../event-types';
import { GuardianInterventionEventData, MessageQueuedEventData } from '../messages.schema';
import * as agent from './agent-events.schema';
import { CanaryEventData } from './canary-events.schema';
import * as supervisor from './supervisor-events.schema';

export const EVENT_PAYLOAD_SCHEMAS = {
  // The relay's worker (libs/worker).
  [AGENT_EVENT_TYPES.STARTED]: agent.AgentStartedData,
  [AGENT_EVENT_TYPES.THINKING]: agent.AgentThinkingData,
  [AGENT_EVENT_TYPES.TOOL_USE]: agent.AgentToolUseData,
  [AGENT_EVENT_TYPES.TOOL_COMPLETED]: agent.AgentToolCompletedData,
  [AGENT_EVENT_TYPES.FILE_EDITED]: agent.AgentFileEditedData,
  [AGENT_EVENT_TYPES.MESSAGE]: agent.AgentMessageData,
  [AGENT_EVENT_TYPES.WAITING]: agent.AgentWaitingData,
  [AGENT_EVENT_TYPES.COMPLETED]: agent.AgentCompletedData,
  [AGENT_EVENT_TYPES.ERROR]: agent.AgentErrorData,
  [AGENT_EVENT_TYPES.INTERRUPTED]: agent.AgentInterruptedData,
  [AGENT_EVENT_TYPES.SUBAGENT_STARTED]: agent.AgentSubagentStartedData,
  [AGENT_EVENT_TYPES.SUBAGENT_COMPLETED]: agent.AgentSubagentCompletedData,
  [AGENT_EVENT_TYPES.HEARTBEAT]: agent.RelayHeartbeatData,
  // The original system's worker.
  [OMOIOS_AGENT_EVENT_TYPES.HEARTBEAT]: agent.OmoiosHeartbeatData,
  [OMOIOS_AGENT_EVENT_TYPES.MESSAGE_INJECTED]: agent.OmoiosMessageInjectedData,
  [OMOIOS_AGENT_EVENT_TYPES.TOOL_RESULT]: agent.OmoiosToolResultData,
  [OMOIOS_AGENT_EVENT_TYPES.FAILED]: agent.AgentFailedData,
  [TASK_LIFECYCLE_EVENT_TYPES.CONTINUOUS_COMPLETED]: agent.ContinuousCompletedData,
  // The supervisor.
  [SUPERVISOR_EVENT_TYPES.TASK_STARTED]: supervisor.TaskStartedData,
  [SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED]: supervisor.HeartbeatLadderData,
  [SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED]: supervisor.HeartbeatLadderData,
  [SUPERVISOR_EVENT_TYPES.SANDBOX_RECOVERED]: supervisor.HeartbeatLadderData,
  [SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED]: supervisor.AgentRestartedData,
  [SUPERVISOR_EVENT_TYPES.RESTART_FAILED]: supervisor.RestartFailedData,
  [SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED]: supervisor.TaskQuarantinedData,
  [SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED]: supervisor.SandboxIdleStoppedData,
  [SUPERVISOR_EVENT_TYPES.TASK_COMPLETED]: supervisor.TaskCompletedData,
  [SUPERVISOR_EVENT_TYPES.TASK_STOPPED]: supervisor.TaskStoppedData,
  [SUPERVISOR_EVENT_TYPES.TASK_FAILED]: supervisor.TaskStatusMoveData,
  [SUPERVISOR_EVENT_TYPES.TASK_STATUS_CHANGED]: supervisor.TaskStatusMoveData,
  [SUPERVISOR_EVENT_TYPES.SANDBOX_RELEASED]: supervisor.SandboxReleasedData,
  // The guardian and the message queue.
  [SYSTEM_EVENT_TYPES.GUARDIAN_INTERVENTION]: GuardianInterventionEventData,
  [SYSTEM_EVENT_TYPES.SANDBOX_MESSAGE_QUEUED]: MessageQueuedEventData,
  // The branch workflow (entity `ticket`).
  [BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED]: BranchWorkflowEventData,
  [BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED]: BranchWorkflowEventData,
  [BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED]: BranchWorkflowEventData,
  [BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_WORKFLOW_FAILED]: BranchWorkflowEventData,
  // The gateway's canary.
  [CANARY_EVENT_TYPE]: CanaryEventData,
} as const;

/** Every event type whose payload the relay declares. */
export type KnownEventType = keyof typeof EVENT_PAYLOAD_SCHEMAS;

/** The payload of each event type, as its producer must send it. */
export type EventPayloads = { [T in KnownEventType]: z.infer<(typeof EVENT_PAYLOAD_SCHEMAS)[T]> };

export function isKnownEventType(eventType: string): eventType is KnownEventType {
  return Object.prototype.hasOwnProperty.call(EVENT_PAYLOAD_SCHEMAS, eventType);
}
