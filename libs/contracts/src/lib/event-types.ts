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

/** Events the supervisor stores and publishes on the sandbox (and, for the task-level ones, on the task). */
export const SUPERVISOR_EVENT_TYPES = {
  /** A task's sandbox was spawned through the edge: `{task_id, sandbox_id, provider, agent_id}`. */
  TASK_STARTED: 'TASK_STARTED',
  /** One heartbeat interval missed (the ladder's first rung): `{task_id, sandbox_id, missed, last_seen_at, heartbeat_interval_ms}`. */
  HEARTBEAT_MISSED: 'SANDBOX_HEARTBEAT_MISSED',
  /** Two missed: the session is `degraded`. Same payload. */
  SANDBOX_DEGRADED: 'SANDBOX_DEGRADED',
  /** Heartbeats came back after a warning or `degraded`. Same payload. */
  SANDBOX_RECOVERED: 'SANDBOX_RECOVERED',
  /** A replacement runs: `{task_id, old_sandbox_id, new_sandbox_id, reason, attempt, forced, forensics}`. */
  AGENT_RESTARTED: SYSTEM_EVENT_TYPES.AGENT_RESTARTED,
  /** A restart failed to spawn the replacement: `{task_id, old_sandbox_id, reason, error}`. */
  RESTART_FAILED: 'AGENT_RESTART_FAILED',
  /** The task exceeded its restart intensity: no more restarts. `{task_id, sandbox_id, reason, trigger, restarts_in_window, forensics}`. */
  TASK_QUARANTINED: 'TASK_QUARANTINED',
  /** Stopped for lack of agent activity: `{task_id, sandbox_id, idle_for_ms, idle_since}`. */
  SANDBOX_IDLE_STOPPED: SYSTEM_EVENT_TYPES.SANDBOX_IDLE_STOPPED,
  /** The agent reported its task complete; the session ended: `{task_id, sandbox_id}`. */
  TASK_COMPLETED: 'TASK_COMPLETED',
  /** Stopped through `POST /api/v1/tasks/:id/stop`: `{task_id, sandbox_id, reason}`. */
  TASK_STOPPED: 'TASK_STOPPED',
} as const;
export type SupervisorEventType = (typeof SUPERVISOR_EVENT_TYPES)[keyof typeof SUPERVISOR_EVENT_TYPES];

/** The branch workflow's events (apps/branch-workflow); entity type `ticket`, entity id the ticket id. Payload: `{ticket_id, task_id, repo, branch_name, base_branch, …}` plus `pr_number, pr_url` (PR_OPENED, PR_MERGED), `merge_sha` (PR_MERGED), `step, code, message` (BRANCH_WORKFLOW_FAILED). */
export const BRANCH_WORKFLOW_EVENT_TYPES = {
  BRANCH_CREATED: 'BRANCH_CREATED',
  PR_OPENED: 'PR_OPENED',
  PR_MERGED: 'PR_MERGED',
  BRANCH_WORKFLOW_FAILED: 'BRANCH_WORKFLOW_FAILED',
} as const;
export type BranchWorkflowEventType = (typeof BRANCH_WORKFLOW_EVENT_TYPES)[keyof typeof BRANCH_WORKFLOW_EVENT_TYPES];

/** Entity types events are attached to. Worker events are always about a sandbox. */
export const ENTITY_TYPES = {
  SANDBOX: 'sandbox',
  TASK: 'task',
  /** The branch workflow's events (BRANCH_CREATED, PR_OPENED, …): entity id is the ticket id. */
  TICKET: 'ticket',
} as const;

/** Sources a worker may name; free text is accepted, these are the conventional values. */
export const EVENT_SOURCES = { AGENT: 'agent', WORKER: 'worker', SYSTEM: 'system' } as const;
