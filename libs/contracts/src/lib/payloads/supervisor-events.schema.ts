// The supervisor's events (apps/supervisor), stored on the sandbox and, for the task-level ones, on the
// task too. The relay's own producer: emit sites are typed by these (EventPayloads).
import { z } from 'zod';

const TaskRef = z.string().nullable();

export const TaskStartedData = z.object({
  task_id: z.string(),
  sandbox_id: z.string(),
  provider: z.string(),
  agent_id: z.string(),
  ticket_id: z.string().optional(),
});
export type TaskStartedData = z.infer<typeof TaskStartedData>;

/** The heartbeat ladder's rungs (missed, degraded, recovered): how many beats, the last one, the interval counted in. */
export const HeartbeatLadderData = z.object({
  task_id: TaskRef,
  sandbox_id: z.string(),
  missed: z.number().int(),
  last_seen_at: z.string(),
  heartbeat_interval_ms: z.number().int(),
});
export type HeartbeatLadderData = z.infer<typeof HeartbeatLadderData>;

export const AgentRestartedData = z.object({
  task_id: z.string(),
  old_sandbox_id: z.string(),
  new_sandbox_id: z.string(),
  reason: z.string(),
  attempt: z.number().int(),
  restart_count: z.number().int(),
  backoff_ms: z.number(),
  forced: z.boolean(),
  context_bytes: z.number().int(),
  context_steps: z.number().int(),
  /** What the old sandbox showed when it was given up (`restart-forensics.ts`). */
  forensics: z.unknown(),
});
export type AgentRestartedData = z.infer<typeof AgentRestartedData>;

export const RestartFailedData = z.object({
  task_id: TaskRef,
  old_sandbox_id: z.string(),
  reason: z.string(),
  error: z.string(),
});
export type RestartFailedData = z.infer<typeof RestartFailedData>;

export const TaskQuarantinedData = z.object({
  task_id: z.string(),
  sandbox_id: z.string(),
  reason: z.string(),
  trigger: z.string(),
  restarts_in_window: z.number().int(),
  window_ms: z.number().optional(),
  forensics: z.unknown(),
});
export type TaskQuarantinedData = z.infer<typeof TaskQuarantinedData>;

export const SandboxIdleStoppedData = z.object({
  task_id: TaskRef,
  sandbox_id: z.string(),
  idle_for_ms: z.number(),
  idle_since: z.string(),
});
export type SandboxIdleStoppedData = z.infer<typeof SandboxIdleStoppedData>;

export const TaskStoppedData = z.object({ task_id: z.string(), sandbox_id: z.string(), reason: z.string() });
export type TaskStoppedData = z.infer<typeof TaskStoppedData>;

/** A move of a task's status by its worker's report (TASK_FAILED, TASK_STATUS_CHANGED, and TASK_COMPLETED so moved). */
export const TaskStatusMoveData = z.object({
  task_id: z.string(),
  sandbox_id: z.string(),
  from: z.string(),
  to: z.string(),
  /** The event type that moved it, or `task-complete` (the report edge). */
  cause: z.string(),
  event_id: z.string().nullable(),
  error_message: z.string().nullable(),
});
export type TaskStatusMoveData = z.infer<typeof TaskStatusMoveData>;

/** TASK_COMPLETED: a status move (above), or the session ended on a `completed` heartbeat (`{task_id, sandbox_id}`). */
export const TaskCompletedData = z.union([TaskStatusMoveData, z.object({ task_id: TaskRef, sandbox_id: z.string() })]);
export type TaskCompletedData = z.infer<typeof TaskCompletedData>;

export const SandboxReleasedData = z.object({
  task_id: TaskRef,
  sandbox_id: z.string(),
  task_status: z.string(),
  reason: z.string(),
});
export type SandboxReleasedData = z.infer<typeof SandboxReleasedData>;
