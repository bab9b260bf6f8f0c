import { z } from 'zod';
import { TicketId } from './branch-workflow.schema';
import { EventBody, StorableString } from './events.schema';

// The supervisor's edge (`/api/v1/tasks`) and the events it emits. Event types are wire protocol:
// dashboards match on these strings.

// The supervisor's event types live in the zod-free catalogue (the dashboard bundles it); re-exported here.
export { SUPERVISOR_EVENT_TYPES, type SupervisorEventType } from './event-types';

/**
 * `SandboxSession.status`: where one sandbox of a task is in its life, as the supervisor keeps it.
 * - `starting`: the supervisor has named the sandbox and is spawning it (the row is written before the
 *   provider is asked, under the sandbox's lock; one left `starting` without the lock is a spawn that
 *   never reported, and the sweep restarts it). Also the column's default for rows written by others.
 * - `running`: spawned and beating (a missed-heartbeat warning leaves it `running`; the warning is an event).
 * - `degraded`: two heartbeat intervals missed.
 * - `restarting`: a supervisor replica is replacing it (terminate, spawn).
 * - `replaced`: terminated by a restart; the task moved to a newer session.
 * - `quarantined`: the task exceeded its restart intensity; the sandbox is terminated, no more restarts.
 * - `completed`: the agent finished the task.
 * - `stopped`: stopped as idle, or through the edge's stop.
 * - `failed`: the provider could not spawn it.
 */
export const SANDBOX_SESSION_STATUSES = [
  'starting',
  'running',
  'degraded',
  'restarting',
  'replaced',
  'quarantined',
  'completed',
  'stopped',
  'failed',
] as const;
export const SandboxSessionStatus = z.enum(SANDBOX_SESSION_STATUSES);
export type SandboxSessionStatus = z.infer<typeof SandboxSessionStatus>;

/** Sessions the supervisor watches (the heartbeat ladder and the idle monitor sweep these). */
export const LIVE_SESSION_STATUSES: readonly SandboxSessionStatus[] = ['running', 'degraded', 'restarting'];

/** `Task.status` of tasks started through the supervisor. */
export const TASK_STATUSES = [
  'pending',
  'starting',
  'running',
  'restarting',
  'quarantined',
  'completed',
  'stopped',
  'failed',
] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

/**
 * Statuses no worker report moves a task out of (events, task-complete): the supervisor or an operator
 * ended it. A `failed` task is not final: the original's `agent.started` runs it again, and a restart
 * of its sandbox does too.
 */
export const FINAL_TASK_STATUSES: readonly TaskStatus[] = ['completed', 'stopped', 'quarantined'];

/** Task ids are the store's UUIDs. */
export const TaskId = z.string().uuid('must be a task id (UUID)');

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** `POST /api/v1/tasks`: the task, and what its sandbox's worker runs. */
export const CreateTaskBody = z
  .object({
    title: z.string().trim().min(1).max(200),
    description: z.string().max(10_000).optional(),
    /** The agent adapter inside the sandbox (the worker's `AGENT`). */
    agent: z.enum(['shell', 'claude']).default('shell'),
    agent_id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must match [A-Za-z0-9._-]{1,128}')
      .default('shell-agent'),
    /** The task in words (the worker's `TASK_PROMPT`). */
    prompt: z.string().min(1).max(32_768).optional(),
    /** A plan for the shell agent (the worker's `TASK_PLAN`, as JSON): a list of steps or `{steps, …options}`.
     *  The supervisor checks it with the worker's own plan parser before anything is spawned. */
    plan: z.union([z.array(z.unknown()).min(1).max(1_000), z.record(z.string(), z.unknown())]).optional(),
    repository: z
      .object({
        url: z
          .string()
          .min(1)
          .max(2_000)
          .refine((url) => !url.startsWith('-'), 'must not start with "-"'),
        branch: z
          .string()
          .min(1)
          .max(250)
          .refine((branch) => !branch.startsWith('-'), 'must not start with "-"')
          .optional(),
      })
      .optional(),
    /**
     * Extra worker settings (e.g. `POLL_INTERVAL_MS`). The supervisor's own variables (relay URL, ids,
     * task input, heartbeat cadence, context) cannot be overridden here.
     */
    worker_env: z
      .record(z.string().regex(ENV_NAME, 'must be an upper-case env var name'), z.string().max(4_096))
      .optional(),
    /**
     * The ticket the task works on (`Task.ticketId`). The branch workflow then creates the ticket's
     * branch on `TASK_STARTED` and opens its pull request on completion, titled from the task's
     * `title` and quoting its `description`.
     */
    ticket_id: TicketId.optional(),
  })
  .refine((body) => body.plan === undefined || body.agent === 'shell', {
    message: 'a plan runs only on the shell agent',
    path: ['plan'],
  })
  .refine(
    (body) => body.ticket_id === undefined || body.description !== undefined || (body.prompt ?? '').length <= 20_000,
    {
      message:
        "with a ticket and no description, the prompt stands in as the pull request's description: at most 20000 characters",
      path: ['prompt'],
    },
  );
export type CreateTaskBody = z.infer<typeof CreateTaskBody>;

/** What the supervisor stores in `Task.spec` and spawns every sandbox of the task from. */
export const TaskSpec = z.object({
  /** The supervisor deployment that owns the task (its key prefix): environments sharing a database never touch each other's sandboxes. */
  scope: z.string().optional(),
  agent: z.enum(['shell', 'claude']),
  agent_id: z.string(),
  prompt: z.string().optional(),
  plan: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  repository: z.object({ url: z.string(), branch: z.string().optional() }).optional(),
  worker_env: z.record(z.string(), z.string()).optional(),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

export const StopTaskBody = z.object({ reason: z.string().trim().min(1).max(500).default('stopped through the API') });
export type StopTaskBody = z.infer<typeof StopTaskBody>;

/** One sandbox session as the edge shows it. */
export const SessionView = z.object({
  sandbox_id: z.string(),
  status: SandboxSessionStatus,
  restart_count: z.number().int(),
  last_heartbeat_at: z.string().nullable(),
  created_at: z.string(),
});
export type SessionView = z.infer<typeof SessionView>;

/**
 * What a task's agents cost, summed over every `agent.completed` (and `continuous.completed`) its
 * sandboxes reported, each event counted once: the fields of the original worker's completion event.
 */
export const TaskUsage = z.object({
  cost_usd: z.number(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cache_read_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
});
export type TaskUsage = z.infer<typeof TaskUsage>;

/** `GET /api/v1/tasks/:taskId` (and the answer of the create and stop calls). */
export const TaskView = TaskUsage.extend({
  id: z.string(),
  title: z.string(),
  status: z.string(),
  sandbox_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  /** The ticket the task works on, when it was started with one. */
  ticket_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The task's sessions, newest first: the current sandbox, then the ones restarts replaced. */
  sessions: z.array(SessionView),
  restarts: z.array(
    z.object({
      old_sandbox_id: z.string(),
      new_sandbox_id: z.string().nullable(),
      reason: z.string(),
      created_at: z.string(),
    }),
  ),
  /** Why it failed, as its worker said (`agent.error`'s `error`, task-complete's `error_message`); null otherwise. */
  error_message: z.string().nullable(),
  /** What its worker reported with `success: true` to task-complete; null otherwise. */
  result: z.record(z.string(), z.unknown()).nullable(),
});
export type TaskView = z.infer<typeof TaskView>;

/**
 * `GET /api/v1/sandboxes/:sandboxId/task`: the sandbox's task in the original's answer shape
 * (`SandboxTaskResponse`) as far as it maps, plus the relay's task view. The original's fields the relay
 * has no notion of (`phase_id`, `task_type`, `priority`) are null; `started_at` is when its first sandbox
 * ran, `completed_at` when it reached completed, failed, stopped or quarantined (its last update).
 */
export const SandboxTaskView = TaskView.extend({
  description: z.string().nullable(),
  phase_id: z.null(),
  task_type: z.null(),
  priority: z.null(),
  assigned_agent_id: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
});
export type SandboxTaskView = z.infer<typeof SandboxTaskView>;

export const TASK_COMPLETE_LIMITS = { ERROR_MESSAGE_MAX: 10_000 } as const;

/** An object within an event's data limits (size, depth, text PostgreSQL can store): `event_data`'s own schema. */
const ResultData = EventBody.shape.event_data.unwrap();

/** `POST /api/v1/sandboxes/:sandboxId/task-complete`, the original's `TaskCompleteRequest`. */
export const TaskCompleteBody = z.object({
  /** The sandbox's task: a UUID (the relay's task ids). Another task, or one the sandbox no longer runs, is 409. */
  task_id: TaskId,
  success: z.boolean().default(true),
  /** Kept on the task when `success` (output, branch, pull request…); same limits as an event's data. */
  result: ResultData.nullable().optional(),
  /** Kept on the task when not `success`. */
  error_message: StorableString.max(TASK_COMPLETE_LIMITS.ERROR_MESSAGE_MAX).nullable().optional(),
});
export type TaskCompleteBody = z.infer<typeof TaskCompleteBody>;

/**
 * The answer: the original's `TaskCompleteResponse` (`status: "accepted"`, `new_status`: the task's
 * status after the call, `unblocked_tasks`: always empty, the relay has no task dependencies) plus
 * `changed` (false when the task already was there, or had already ended: the call is idempotent) and
 * the task.
 */
export const TaskCompleteAnswer = z.object({
  status: z.literal('accepted'),
  task_id: z.string(),
  new_status: z.string(),
  unblocked_tasks: z.array(z.string()),
  changed: z.boolean(),
  task: TaskView,
});
export type TaskCompleteAnswer = z.infer<typeof TaskCompleteAnswer>;
