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

/**
 * Heartbeat event types, one catalogue for every reader (the supervisor's ladder and idle monitor, the
 * sandbox list's `last_heartbeat_at`). Two workers beat differently:
 * - `heartbeat`: the relay's worker, every `HEARTBEAT_INTERVAL_MS` (15 s) whatever it does, with
 *   `status` `idle` / `running` / `completed`;
 * - `agent.heartbeat`: the original system's (OmoiOS) worker, `{timestamp, status: "alive",
 *   event_count}` from source `worker`, every 30 s and only between turns (during a turn it sends its
 *   other `agent.*` events instead).
 */
export const HEARTBEAT_EVENT_TYPES = {
  RELAY: AGENT_EVENT_TYPES.HEARTBEAT,
  OMOIOS: 'agent.heartbeat',
} as const;
export type HeartbeatEventType = (typeof HEARTBEAT_EVENT_TYPES)[keyof typeof HEARTBEAT_EVENT_TYPES];

/** Every heartbeat type, for queries (`event_type = ANY($1)`). */
export const HEARTBEAT_EVENT_TYPE_LIST: readonly HeartbeatEventType[] = Object.values(HEARTBEAT_EVENT_TYPES);

export function isHeartbeatEventType(eventType: string): eventType is HeartbeatEventType {
  return (HEARTBEAT_EVENT_TYPE_LIST as readonly string[]).includes(eventType);
}

/**
 * The `status` of a heartbeat, the one field of it the supervisor acts on: `completed` exempts a
 * sandbox from the heartbeat ladder (its session ends instead of restarting), `running` keeps the idle
 * monitor off it (a long command is work). The relay's worker sends `starting` / `running` / `idle` /
 * `completed` / `stopping`; the original system's worker (`agent.heartbeat`) sends `alive`. A worker is
 * external: readers take any other text too (`heartbeatStatus` in event-readers.ts), as no status.
 */
export const HEARTBEAT_STATUSES = {
  STARTING: 'starting',
  RUNNING: 'running',
  IDLE: 'idle',
  COMPLETED: 'completed',
  STOPPING: 'stopping',
  /** The original system's worker: alive, between turns. */
  ALIVE: 'alive',
} as const;
export type HeartbeatStatus = (typeof HEARTBEAT_STATUSES)[keyof typeof HEARTBEAT_STATUSES];
/** What the relay's own worker reports (`heartbeat`); `alive` is the original's alone. */
export type RelayWorkerStatus = Exclude<HeartbeatStatus, typeof HEARTBEAT_STATUSES.ALIVE>;

/**
 * The original system's (OmoiOS) `agent.*` types the relay stores and reads besides the relay worker's
 * catalogue: its worker's heartbeat, a message it injected into the agent's conversation, a tool's result
 * under its own name, and its task failure.
 */
export const OMOIOS_AGENT_EVENT_TYPES = {
  HEARTBEAT: HEARTBEAT_EVENT_TYPES.OMOIOS,
  MESSAGE_INJECTED: 'agent.message_injected',
  TOOL_RESULT: 'agent.tool_result',
  FAILED: 'agent.failed',
} as const;
export type OmoiosAgentEventType = (typeof OMOIOS_AGENT_EVENT_TYPES)[keyof typeof OMOIOS_AGENT_EVENT_TYPES];

/**
 * Worker events that move their task's status, as the original's sandbox endpoint does, or carry its
 * cost (`cost_usd`, `input_tokens`, `output_tokens`, `cache_read_tokens`, `cache_write_tokens` on
 * `agent.completed`). The supervisor applies each once (apps/supervisor, task-events.ts).
 */
export const TASK_LIFECYCLE_EVENT_TYPES = {
  STARTED: AGENT_EVENT_TYPES.STARTED,
  COMPLETED: AGENT_EVENT_TYPES.COMPLETED,
  /** The original's continuous mode: `{stop_reason, validation_passed, total_cost_usd, …}`. */
  CONTINUOUS_COMPLETED: 'continuous.completed',
  FAILED: 'agent.failed',
  ERROR: AGENT_EVENT_TYPES.ERROR,
} as const;
export type TaskLifecycleEventType = (typeof TASK_LIFECYCLE_EVENT_TYPES)[keyof typeof TASK_LIFECYCLE_EVENT_TYPES];
export const TASK_LIFECYCLE_EVENT_TYPE_LIST: readonly TaskLifecycleEventType[] =
  Object.values(TASK_LIFECYCLE_EVENT_TYPES);

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
  /**
   * The task completed: its worker's last beat said `completed` (the session ended: `{task_id, sandbox_id}`),
   * or it reported `continuous.completed` with `validation_passed` or `success: true` to task-complete
   * (the payload of TASK_FAILED).
   */
  TASK_COMPLETED: 'TASK_COMPLETED',
  /** Stopped through `POST /api/v1/tasks/:id/stop`: `{task_id, sandbox_id, reason}`. */
  TASK_STOPPED: 'TASK_STOPPED',
  /**
   * The task failed: its worker reported `agent.failed` / `agent.error`, or `success: false` to
   * `POST /api/v1/sandboxes/:id/task-complete`. `{task_id, sandbox_id, from, to, cause, event_id, error_message}`.
   */
  TASK_FAILED: 'TASK_FAILED',
  /** Any other move of a task's status by its worker (`agent.started` → running). Same payload. */
  TASK_STATUS_CHANGED: 'TASK_STATUS_CHANGED',
  /**
   * A live sandbox whose task had already ended (completed, stopped, quarantined) went silent: it is
   * terminated and its session ended instead of restarted. `{task_id, sandbox_id, task_status, reason}`.
   */
  SANDBOX_RELEASED: 'SANDBOX_RELEASED',
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
