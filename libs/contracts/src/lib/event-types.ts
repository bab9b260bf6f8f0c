// Event types are wire protocol: dashboards, the guardian and the supervisor match on these strings.
// Renaming one is a breaking change for every stored event and every connected client.

/** Types a worker inside a sandbox emits (the runtime's catalogue). */
export const AGENT_EVENT_TYPES = {
  STARTED: 'agent.started',
  THINKING: 'agent.thinking',
  TOOL_USE: 'agent.tool_use',
  TOOL_COMPLETED: 'agent.tool_completed',
  FILE_EDITED: 'agent.file_edited',
  MESSAGE: 'agent.message',
  WAITING: 'agent.waiting',
  COMPLETED: 'agent.completed',
  ERROR: 'agent.error',
  INTERRUPTED: 'agent.interrupted',
  SUBAGENT_STARTED: 'agent.subagent_started',
  SUBAGENT_COMPLETED: 'agent.subagent_completed',
  HEARTBEAT: 'heartbeat',
} as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[keyof typeof AGENT_EVENT_TYPES];

/** Types the relay's own services emit. */
export const SYSTEM_EVENT_TYPES = {
  SANDBOX_MESSAGE_QUEUED: 'SANDBOX_MESSAGE_QUEUED',
  AGENT_RESTARTED: 'AGENT_RESTARTED',
  SANDBOX_IDLE_STOPPED: 'SANDBOX_IDLE_STOPPED',
  GUARDIAN_INTERVENTION: 'GUARDIAN_INTERVENTION',
} as const;
export type SystemEventType = (typeof SYSTEM_EVENT_TYPES)[keyof typeof SYSTEM_EVENT_TYPES];

/** Entity types events are attached to. Worker events are always about a sandbox. */
export const ENTITY_TYPES = {
  SANDBOX: 'sandbox',
  TASK: 'task',
  /** The branch workflow's events (BRANCH_CREATED, PR_OPENED, …): entity id is the ticket id. */
  TICKET: 'ticket',
} as const;

/** Sources a worker may name; free text is accepted, these are the conventional values. */
export const EVENT_SOURCES = { AGENT: 'agent', WORKER: 'worker', SYSTEM: 'system' } as const;
